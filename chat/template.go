package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/ardanlabs/jinja"
)

// Template is a compiled chat template, ready to render conversations as
// transformers' apply_chat_template(..., tokenize=False) does. It is safe
// for concurrent use once compiled.
type Template struct {
	// Name names the template in errors: a model, a file, "default".
	Name string
	// Source is the template text as given.
	Source string
	// Special are the tokenizer's special tokens, passed to the template as
	// bos_token, eos_token, ... (as transformers passes
	// tokenizer.special_tokens_map). TokenizerConfig.Template fills them.
	Special SpecialTokens

	compiled *jinja.Template
}

// SpecialTokens are a tokenizer's special tokens, as strings. Empty ones are
// not set: a template sees them as undefined, as it does under
// transformers, whose special_tokens_map leaves out unset tokens.
type SpecialTokens struct {
	BOS, EOS, UNK, SEP, PAD, CLS, Mask string
	// Additional is additional_special_tokens.
	Additional []string
}

// Vars returns the template variables transformers passes for the tokens:
// bos_token, eos_token, unk_token, sep_token, pad_token, cls_token,
// mask_token (strings) and additional_special_tokens (a list), each only
// when set.
func (s SpecialTokens) Vars() map[string]any {
	out := map[string]any{}
	for _, kv := range []struct{ k, v string }{
		{"bos_token", s.BOS}, {"eos_token", s.EOS}, {"unk_token", s.UNK}, {"sep_token", s.SEP},
		{"pad_token", s.PAD}, {"cls_token", s.CLS}, {"mask_token", s.Mask},
	} {
		if kv.v != "" {
			out[kv.k] = kv.v
		}
	}
	if len(s.Additional) > 0 {
		out["additional_special_tokens"] = slices.Clone(s.Additional)
	}
	return out
}

// RenderOptions are apply_chat_template's arguments other than the
// conversation.
type RenderOptions struct {
	// AddGenerationPrompt appends the header that opens an assistant turn
	// (add_generation_prompt=True), for scoring a prompt alone; a reward
	// model scoring prompt+response leaves it false.
	AddGenerationPrompt bool
	// Tools are the tool JSON schemas (tools=...); nil passes None.
	// Generic values as ParseValue returns them.
	Tools []any
	// Documents are the RAG documents (documents=...); nil passes None.
	Documents []any
	// Vars are further template variables (apply_chat_template's
	// **kwargs), e.g. "enable_thinking": false for Qwen3 or
	// "date_string" for Llama-3.1. They override the special tokens, as
	// kwargs do in transformers. "messages", "tools", "documents",
	// "add_generation_prompt", "raise_exception", "strftime_now" and names
	// starting with "warm_" are refused.
	Vars map[string]any
	// Now is the clock strftime_now reads (Llama-3.2 prints "Today
	// Date"); nil is time.Now. Its wall clock is used as is, in its own
	// location, as Python's naive datetime.now() is.
	Now func() time.Time
}

// RaiseError is the error a template raises with raise_exception(message),
// as transformers raises jinja2.TemplateError(message): Gemma's "System
// role not supported", Mistral's "conversation roles must alternate".
type RaiseError struct {
	Template string // the Template's Name
	Message  string // the template's own message
}

func (e *RaiseError) Error() string {
	return fmt.Sprintf("chat template %s: raise_exception: %s", e.Template, e.Message)
}

// Compile compiles a chat template. name is used in errors only.
//
// Before compiling, the source is brought to what jinja2's lexer would
// make of it (newlines normalised to \n, one trailing newline dropped,
// Python string-literal escapes decoded), a + b and a ~ b become
// warm_add(a, b) and warm_cat(a, b) (Python's + and str(a) + str(b),
// grouped as jinja2 groups them; see rewriteOperators), {{ expr }} becomes
// {{ (expr)|warm_print }} (Python's str()), and the filters tojson, trim
// and string are renamed to warm_tojson, warm_trim and warm_string
// (outside string literals), which Render defines as transformers and
// jinja2 do: the Jinja library's own versions differ (its tojson sorts keys
// under indent and formats floats as Go does; its trim and string do not
// use Python's whitespace and repr), and its built-in filters cannot be
// replaced. {% generation %} and {% endgeneration %} (transformers'
// assistant-mask block, which renders its body) become {% if true %} and
// {% endif %}.
func Compile(name, source string) (*Template, error) {
	src, err := rewrite(source)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	compiled, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	return &Template{Name: name, Source: source, compiled: compiled}, nil
}

// Render renders a conversation as transformers' apply_chat_template(
// messages, tools=..., documents=..., add_generation_prompt=...,
// tokenize=False, **vars) does: the template sees messages (a list of
// dicts), tools, documents, add_generation_prompt, the special tokens
// and opts.Vars, with raise_exception, strftime_now and transformers' tojson
// defined.
//
// A raise_exception in the template returns a *RaiseError. The caller
// tokenizes the result with add_special_tokens=False (see the package
// doc).
func (t *Template) Render(msgs []Message, opts RenderOptions) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("chat template %s: %w", t.Name, err)
	}
	data := map[string]jinja.Value{}
	for k, v := range t.Special.Vars() {
		val, err := toValue(v)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", k, err))
		}
		data[k] = val
	}
	for _, k := range slices.Sorted(maps.Keys(opts.Vars)) {
		switch {
		case k == "messages", k == "tools", k == "documents", k == "add_generation_prompt",
			k == "raise_exception", k == "strftime_now", strings.HasPrefix(k, "warm_"):
			return fail(fmt.Errorf("variable %q is reserved", k))
		}
		val, err := toValue(opts.Vars[k])
		if err != nil {
			return fail(fmt.Errorf("variable %q: %w", k, err))
		}
		data[k] = val
	}
	list := make([]jinja.Value, len(msgs))
	for i := range msgs {
		v, err := messageValue(&msgs[i])
		if err != nil {
			return fail(fmt.Errorf("messages[%d]: %w", i, err))
		}
		list[i] = v
	}
	data["messages"] = jinja.NewList(list)
	for _, x := range []struct {
		name string
		vals []any
	}{{"tools", opts.Tools}, {"documents", opts.Documents}} {
		if x.vals == nil {
			data[x.name] = jinja.None()
			continue
		}
		v, err := toValue(x.vals)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", x.name, err))
		}
		data[x.name] = v
	}
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)

	var raised *RaiseError
	data["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		msg := ""
		if len(args) > 0 {
			msg = pyStr(args[0])
		}
		raised = &RaiseError{Template: t.Name, Message: msg}
		return jinja.Undefined(), raised
	})
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	data["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), errors.New("strftime_now takes one format string")
		}
		return jinja.NewString(strftime(now(), args[0].AsString())), nil
	})
	data["warm_tojson"] = jinja.NewCallable("tojson", tojsonFilter)
	data["warm_trim"] = jinja.NewCallable("trim", trimFilter)
	data["warm_string"] = jinja.NewCallable("string", strFilter)
	data["warm_print"] = jinja.NewCallable("print", strFilter)
	data[addFunc] = jinja.NewCallable("+", addOp)
	data[catFunc] = jinja.NewCallable("~", catOp)

	out, err := t.compiled.RenderValues(data)
	if err != nil {
		if raised != nil {
			return "", raised
		}
		return fail(err)
	}
	return out, nil
}

// messageValue is the dict a template sees for one turn.
func messageValue(m *Message) (jinja.Value, error) {
	d := jinja.NewDict()
	for _, k := range m.keys() {
		v, _ := m.Get(k)
		val, err := toValue(v)
		if err != nil {
			return jinja.Value{}, fmt.Errorf("%q: %w", k, err)
		}
		d.AsDict().Set(k, val)
	}
	return d, nil
}

// toValue converts a generic Go value to the template's.
func toValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case nil, Null:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return jinja.NewString(x), nil
	case int:
		return jinja.NewInt(int64(x)), nil
	case int64:
		return jinja.NewInt(x), nil
	case float64:
		return jinja.NewFloat(x), nil
	case json.Number:
		return numberValue(x)
	case []any:
		items := make([]jinja.Value, len(x))
		for i, it := range x {
			val, err := toValue(it)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = val
		}
		return jinja.NewList(items), nil
	case []string:
		items := make([]jinja.Value, len(x))
		for i, s := range x {
			items[i] = jinja.NewString(s)
		}
		return jinja.NewList(items), nil
	case *Object:
		d := jinja.NewDict()
		for _, k := range x.Keys() {
			val, err := toValue(x.vals[k])
			if err != nil {
				return jinja.Value{}, fmt.Errorf("%q: %w", k, err)
			}
			d.AsDict().Set(k, val)
		}
		return d, nil
	case map[string]any:
		d := jinja.NewDict()
		for _, k := range slices.Sorted(maps.Keys(x)) {
			val, err := toValue(x[k])
			if err != nil {
				return jinja.Value{}, fmt.Errorf("%q: %w", k, err)
			}
			d.AsDict().Set(k, val)
		}
		return d, nil
	case Message:
		return messageValue(&x)
	case *Message:
		return messageValue(x)
	}
	return jinja.Value{}, fmt.Errorf("cannot pass a %T to a template", v)
}

// numberValue converts a JSON number as Python's json.load does: without a
// fraction or exponent it is an int, otherwise a float. Python's ints have
// no bound; an integer beyond int64 is refused rather than rounded.
func numberValue(n json.Number) (jinja.Value, error) {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return jinja.Value{}, fmt.Errorf("integer %s does not fit in 64 bits", s)
		}
		return jinja.NewInt(i), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !math.IsInf(f, 0) {
		return jinja.Value{}, fmt.Errorf("number %s: %w", s, err)
	}
	return jinja.NewFloat(f), nil // Python's float() also overflows to inf
}

// renamedFilters are the filters Render defines itself (see Compile).
var renamedFilters = map[string]string{"tojson": "warm_tojson", "trim": "warm_trim", "string": "warm_string"}

// rewrite prepares a template's source for the Jinja library, doing what
// jinja2's lexer does that the library does not, and renaming filters:
//
//   - newlines (\r\n, \r) become \n, and one trailing newline is dropped
//     (keep_trailing_newline=False);
//   - string literals are decoded as Python's unicode-escape codec does
//     (\r, \xhh, \uXXXX, \ooo, ...; the library knows only \n, \t, \\,
//     \' and \") and written back with those five escapes and raw
//     characters;
//   - a + b becomes warm_add(a, b) and a ~ b warm_cat(a, b), which Render
//     defines with Python's semantics (see rewriteOperators);
//   - {{ expr }} becomes {{ (expr)|warm_print }} (see wrapOutput);
//   - the filters in renamedFilters are renamed, and {% generation %}
//     blocks become {% if true %} blocks.
//
// It walks the tags as jinja2's lexer does: text outside {{ }}, {% %} and
// {# #} is left alone, and so are string literals' contents but for their
// escapes.
func rewrite(src string) (string, error) {
	out, _, err := rewriteSource(src)
	return out, err
}

// rewriteSource is rewrite, also returning the tags whose + or ~ the
// operator rewrite did not understand and left to the library (see
// rewriteOperators).
func rewriteSource(src string) (string, []string, error) {
	var missed []string
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	src = strings.TrimSuffix(src, "\n")
	var b strings.Builder
	i := 0
	for i < len(src) {
		j := strings.IndexByte(src[i:], '{')
		if j < 0 || i+j+1 >= len(src) {
			b.WriteString(src[i:])
			break
		}
		j += i
		var closer string
		switch src[j+1] {
		case '{':
			closer = "}}"
		case '%':
			closer = "%}"
		case '#':
			closer = "#}"
		default:
			b.WriteString(src[i : j+1])
			i = j + 1
			continue
		}
		b.WriteString(src[i:j])
		if closer == "#}" {
			k := strings.Index(src[j+2:], "#}")
			if k < 0 {
				return "", nil, errors.New("unclosed comment")
			}
			end := j + 2 + k + 2
			b.WriteString(src[j:end])
			i = end
			continue
		}
		end, err := tagEnd(src, j+2, closer)
		if err != nil {
			return "", nil, err
		}
		tag, ok := rewriteOperators(src[j:end])
		if !ok {
			missed = append(missed, src[j:end])
		}
		switch closer {
		case "%}":
			tag = rewriteGeneration(tag)
		case "}}":
			tag = wrapOutput(tag)
		}
		tag, err = rewriteTag(tag)
		if err != nil {
			return "", nil, err
		}
		b.WriteString(tag)
		i = end
		if closer == "%}" {
			if _, body, _ := splitTag(src[j:end]); strings.TrimSpace(body) == "raw" {
				// A raw block's body is text to jinja2: copied as it is.
				k := endRaw.FindStringIndex(src[i:])
				if k == nil {
					return "", nil, errors.New("unclosed raw block")
				}
				b.WriteString(src[i : i+k[0]])
				i += k[0]
			}
		}
	}
	return b.String(), missed, nil
}

// endRaw matches the tag that ends a raw block.
var endRaw = regexp.MustCompile(`\{%[-+]?\s*endraw\s*[-+]?%\}`)

// tagEnd returns the index just past the closer of the tag whose body
// starts at i, skipping string literals.
func tagEnd(src string, i int, closer string) (int, error) {
	for i < len(src) {
		c := src[i]
		if c == '\'' || c == '"' {
			if i = literalEnd(src, i); i < 0 {
				break
			}
			continue
		}
		if strings.HasPrefix(src[i:], closer) {
			return i + len(closer), nil
		}
		i++
	}
	return 0, fmt.Errorf("unclosed %q tag", closer[:1])
}

// literalEnd returns the index just past the string literal that opens
// at s[i] (a quote), skipping backslash escapes, or -1 when it is not
// closed.
func literalEnd(s string, i int) int {
	q := s[i]
	for i++; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i + 1
		}
	}
	return -1
}

// wrapOutput turns {{ expr }} into {{ (expr)|warm_print }}, so that
// values print as Python's str() prints them (None as "None", floats as
// repr, lists and dicts as their repr) rather than as the library prints
// them. Whitespace-control marks are kept.
func wrapOutput(tag string) string {
	open, body, close := splitTag(tag)
	if strings.TrimSpace(body) == "" {
		return tag
	}
	return open + " (" + body + ")|warm_print " + close
}

// rewriteGeneration turns {% generation %} into {% if true %} and
// {% endgeneration %} into {% endif %}, keeping the whitespace-control
// marks.
func rewriteGeneration(tag string) string {
	open, body, close := splitTag(tag)
	switch strings.TrimSpace(body) {
	case "generation":
		return open + " if true " + close
	case "endgeneration":
		return open + " endif " + close
	}
	return tag
}

// rewriteTag renames, in one tag, each filter application "| name" whose
// name is in renamedFilters, and re-escapes its string literals (see
// rewrite).
func rewriteTag(tag string) (string, error) {
	var b strings.Builder
	i := 0
	for i < len(tag) {
		c := tag[i]
		if c == '\'' || c == '"' {
			j := literalEnd(tag, i) - 1
			if j < 0 {
				return "", errors.New("unterminated string literal")
			}
			lit, err := pyUnescape(tag[i+1 : j])
			if err != nil {
				return "", fmt.Errorf("string literal %s: %w", tag[i:j+1], err)
			}
			b.WriteByte(c)
			for _, r := range lit {
				switch r {
				case '\\':
					b.WriteString(`\\`)
				case rune(c):
					b.WriteByte('\\')
					b.WriteByte(c)
				case '\n':
					b.WriteString(`\n`)
				case '\t':
					b.WriteString(`\t`)
				default:
					b.WriteRune(r)
				}
			}
			b.WriteByte(c)
			i = j + 1
			continue
		}
		if c == '|' && !(i+1 < len(tag) && tag[i+1] == '|') {
			j := i + 1
			for j < len(tag) && (tag[j] == ' ' || tag[j] == '\t' || tag[j] == '\n') {
				j++
			}
			k := j
			for k < len(tag) && (tag[k] == '_' || tag[k] >= 'a' && tag[k] <= 'z' || tag[k] >= 'A' && tag[k] <= 'Z' || tag[k] >= '0' && tag[k] <= '9') {
				k++
			}
			if to, ok := renamedFilters[tag[j:k]]; ok {
				b.WriteString(tag[i:j])
				b.WriteString(to)
				i = k
				continue
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), nil
}

// pyUnescape decodes the escapes of a jinja2 string literal's contents as
// Python's unicode-escape codec does: \<newline> (dropped), \\, \', \",
// \a, \b, \f, \n, \r, \t, \v, \ooo, \xhh, \uXXXX, \UXXXXXXXX; any other
// backslash is kept. \N{name} is refused.
func pyUnescape(s string) (string, error) {
	if !strings.Contains(s, "\\") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case '\n':
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte(8)
		case 'f':
			b.WriteByte(12)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte(11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			n, k := 0, i
			for k < len(s) && k < i+3 && s[k] >= '0' && s[k] <= '7' {
				n = n*8 + int(s[k]-'0')
				k++
			}
			b.WriteRune(rune(n))
			i = k - 1
		case 'x', 'u', 'U':
			width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+1+width > len(s) {
				return "", fmt.Errorf("truncated \\%c escape", c)
			}
			n, err := strconv.ParseUint(s[i+1:i+1+width], 16, 32)
			if err != nil || n > unicode.MaxRune {
				return "", fmt.Errorf("bad \\%c escape %q", c, s[i-1:i+1+width])
			}
			b.WriteRune(rune(n))
			i += width
		case 'N':
			return "", errors.New("\\N{...} escapes are not supported")
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
