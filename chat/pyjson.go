package chat

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ardanlabs/jinja"
)

// dumpOptions are the json.dumps arguments transformers' tojson filter
// passes through.
type dumpOptions struct {
	ensureASCII bool
	indent      *string // nil: no newlines
	itemSep     string
	keySep      string
	sortKeys    bool
}

// tojsonFilter is transformers' tojson filter:
//
//	json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
//
// (not jinja2's own tojson, which escapes <, >, & and ' for HTML).
func tojsonFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("tojson: no value")
	}
	params := []string{"ensure_ascii", "indent", "separators", "sort_keys"}
	if len(args)-1 > len(params) {
		return jinja.Undefined(), fmt.Errorf("tojson: %d positional arguments, want at most %d", len(args)-1, len(params))
	}
	named := map[string]jinja.Value{}
	for i, a := range args[1:] {
		named[params[i]] = a
	}
	for k, v := range kwargs {
		if !slices.Contains(params, k) {
			return jinja.Undefined(), fmt.Errorf("tojson: unexpected keyword argument %q", k)
		}
		if _, dup := named[k]; dup {
			return jinja.Undefined(), fmt.Errorf("tojson: argument %q given twice", k)
		}
		named[k] = v
	}
	opts := dumpOptions{itemSep: ", ", keySep: ": "}
	if v, ok := named["ensure_ascii"]; ok {
		opts.ensureASCII = v.IsTruthy()
	}
	if v, ok := named["sort_keys"]; ok {
		opts.sortKeys = v.IsTruthy()
	}
	if v, ok := named["indent"]; ok && !v.IsNone() {
		var ind string
		switch {
		case v.IsInt():
			if n := v.AsInt(); n > 0 {
				ind = strings.Repeat(" ", int(n))
			}
		case v.IsString():
			ind = v.AsString()
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: indent must be an integer or a string, got %s", v.String())
		}
		opts.indent = &ind
		opts.itemSep = "," // json.dumps' default separators with an indent
	}
	if v, ok := named["separators"]; ok && !v.IsNone() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Items[0].IsString() || !v.AsList().Items[1].IsString() {
			return jinja.Undefined(), fmt.Errorf("tojson: separators must be two strings, got %s", v.String())
		}
		opts.itemSep = v.AsList().Items[0].AsString()
		opts.keySep = v.AsList().Items[1].AsString()
	}
	var b strings.Builder
	if err := dumpValue(&b, args[0], opts, 0); err != nil {
		return jinja.Undefined(), fmt.Errorf("tojson: %w", err)
	}
	return jinja.NewString(b.String()), nil
}

// dumpValue writes v as Python's json.dumps does.
func dumpValue(b *strings.Builder, v jinja.Value, o dumpOptions, depth int) error {
	switch {
	case v.IsNone():
		b.WriteString("null")
	case v.IsBool():
		if v.AsBool() {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case v.IsInt():
		b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		b.WriteString(pyJSONFloat(v.AsFloat()))
	case v.IsString():
		writeJSONString(b, v.AsString(), o.ensureASCII)
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(b, o, depth+1)
			if err := dumpValue(b, it, o, depth+1); err != nil {
				return err
			}
		}
		newline(b, o, depth)
		b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		if d.Len() == 0 {
			b.WriteString("{}")
			return nil
		}
		keys := d.OrderedKeys()
		if o.sortKeys {
			slices.Sort(keys) // Python sorts str keys by code point; Go by UTF-8 bytes: the same order
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(b, o, depth+1)
			writeJSONString(b, k, o.ensureASCII)
			b.WriteString(o.keySep)
			if err := dumpValue(b, d.Data[k], o, depth+1); err != nil {
				return err
			}
		}
		newline(b, o, depth)
		b.WriteByte('}')
	case v.IsUndefined():
		return errors.New("Object of type Undefined is not JSON serializable")
	default:
		return fmt.Errorf("Object of type %s is not JSON serializable", v.String())
	}
	return nil
}

func newline(b *strings.Builder, o dumpOptions, depth int) {
	if o.indent == nil {
		return
	}
	b.WriteByte('\n')
	for range depth {
		b.WriteString(*o.indent)
	}
}

// writeJSONString writes s quoted as Python's json encoder does: \" \\ \n
// \r \t \b \f, other control characters as \u00XX (lower-case hex), and
// with ensureASCII DEL and every non-ASCII character as \uXXXX (surrogate
// pairs above U+FFFF). Without it, non-ASCII text, U+2028 and U+2029 included,
// is written as is (Go's encoding/json would escape those two).
func writeJSONString(b *strings.Builder, s string, ensureASCII bool) {
	const hex = "0123456789abcdef"
	u4 := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hex[r>>12&0xf])
		b.WriteByte(hex[r>>8&0xf])
		b.WriteByte(hex[r>>4&0xf])
		b.WriteByte(hex[r&0xf])
	}
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				u4(r)
			case r < 0x7f || !ensureASCII: // ensure_ascii escapes DEL too
				b.WriteRune(r)
			case r > 0xffff:
				r -= 0x10000
				u4(0xd800 + r>>10)
				u4(0xdc00 + r&0x3ff)
			default:
				u4(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyJSONFloat formats f as json.dumps does: float.__repr__, with NaN and
// infinities as NaN, Infinity and -Infinity.
func pyJSONFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return pyFloatRepr(f)
}

// pyFloatRepr is Python's repr(float): the shortest digits that round-trip,
// in positional notation when the decimal exponent is in (-4, 16] (with
// ".0" on whole numbers), and as d.ddde±XX otherwise.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	mant, exp, _ := strings.Cut(s, "e")
	digits := strings.Replace(mant, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	decpt := e + 1 // digits × 10^(decpt - len(digits))
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	out := sign + digits[:1]
	if len(digits) > 1 {
		out += "." + digits[1:]
	}
	x := decpt - 1
	esign := "+"
	if x < 0 {
		esign, x = "-", -x
	}
	return fmt.Sprintf("%se%s%02d", out, esign, x)
}

// pyIsSpace reports whether Python's str.isspace() holds for r: Unicode
// White_Space plus U+001C..U+001F (the information separators, which
// Python counts as whitespace and Go's unicode.IsSpace does not).
func pyIsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, ' ', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// trimFilter is jinja2's trim filter: str(value).strip(chars), with Python's
// idea of whitespace when chars is not given.
func trimFilter(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("trim: no value")
	}
	if len(kwargs) > 0 {
		for k := range kwargs {
			if k != "chars" {
				return jinja.Undefined(), fmt.Errorf("trim: unexpected keyword argument %q", k)
			}
		}
	}
	s := pyStr(args[0])
	chars, ok := kwargs["chars"]
	if len(args) > 1 {
		chars, ok = args[1], true
	}
	if ok && !chars.IsNone() {
		return jinja.NewString(strings.Trim(s, pyStr(chars))), nil
	}
	return jinja.NewString(strings.TrimFunc(s, pyIsSpace)), nil
}

// strFilter is jinja2's string filter, str(value); Compile also routes
// every {{ expr }} through it.
func strFilter(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), errors.New("string: no value")
	}
	return jinja.NewString(pyStr(args[0])), nil
}

// pyStr is str(v) for the values a chat template handles: strings as they
// are, None as "None", bools as True/False, floats as repr, and containers
// as their Python repr.
func pyStr(v jinja.Value) string {
	if v.IsString() {
		return v.AsString()
	}
	if v.IsUndefined() {
		return ""
	}
	return pyRepr(v)
}

// pyRepr is Python's repr() of a value: strings quoted as Python quotes
// them, lists and dicts in Python syntax.
func pyRepr(v jinja.Value) string {
	switch {
	case v.IsNone():
		return "None"
	case v.IsBool():
		if v.AsBool() {
			return "True"
		}
		return "False"
	case v.IsInt():
		return strconv.FormatInt(v.AsInt(), 10)
	case v.IsFloat():
		return pyFloatRepr(v.AsFloat())
	case v.IsString():
		return pyStrRepr(v.AsString())
	case v.IsList():
		parts := make([]string, 0, v.AsList().Len())
		for _, it := range v.AsList().Items {
			parts = append(parts, pyRepr(it))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case v.IsDict():
		d := v.AsDict()
		parts := make([]string, 0, d.Len())
		for _, k := range d.OrderedKeys() {
			parts = append(parts, pyStrRepr(k)+": "+pyRepr(d.Data[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case v.IsUndefined():
		return ""
	}
	return v.String()
}

// pyStrRepr quotes s as Python's repr(str) does: single quotes unless s
// holds a ' and no ", backslash escapes for the quote, \\, \n, \r, \t and
// other non-printable characters.
func pyStrRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r): // Python's str.isprintable, near enough: both refuse C*, Z* but ' '

			switch {
			case r <= 0xff:
				fmt.Fprintf(&b, `\x%02x`, r)
			case r <= 0xffff:
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
