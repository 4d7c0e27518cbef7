package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// NoMaxLength is TokenizerConfig.ModelMaxLength when the file says
// transformers' "no limit" (int(1e30), or any length beyond int64).
const NoMaxLength int64 = math.MaxInt64

// TokenizerConfig is what warm reads from a tokenizer_config.json (and,
// with LoadDir, from chat_template.jinja or chat_template.json beside it):
// the chat template(s), the special tokens, add_bos_token, add_eos_token
// and model_max_length. Every other key (added_tokens_decoder,
// tokenizer_class, clean_up_tokenization_spaces, ...) is ignored: it does
// not change a rendered chat. The keys that are read are checked; a wrong
// type is an error naming the file and the field.
type TokenizerConfig struct {
	// Path is the tokenizer_config.json read.
	Path string
	// ChatTemplate is the template apply_chat_template uses by default: the
	// only one, or the one named "default"; "" when there is none.
	ChatTemplate string
	// ChatTemplates holds the named templates when chat_template is a list
	// of {"name", "template"} (e.g. "default" and "tool_use"); nil
	// otherwise.
	ChatTemplates map[string]string
	// ChatTemplateFile is the file the template(s) came from.
	ChatTemplateFile string
	// Special are the special tokens (bos_token, eos_token, unk_token,
	// sep_token, pad_token, cls_token, mask_token,
	// additional_special_tokens).
	Special SpecialTokens
	// AddBOSToken and AddEOSToken are add_bos_token and add_eos_token, nil
	// when absent or null (the tokenizer class's default then applies).
	AddBOSToken, AddEOSToken *bool
	// ModelMaxLength is model_max_length: 0 when absent, NoMaxLength for
	// transformers' "no limit".
	ModelMaxLength int64
}

// ReadTokenizerConfig reads a tokenizer_config.json file.
func ReadTokenizerConfig(path string) (*TokenizerConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseTokenizerConfig(path, data)
}

// LoadDir reads dir/tokenizer_config.json and the chat template files a
// model directory may hold beside it:
//
//   - chat_template.jinja, when present, replaces any template in the
//     config (newer transformers save the template there; transformers
//     v4.47 already reads it first: "Clobbers any template in the config");
//   - chat_template.json ({"chat_template": "..."}, the processor format of
//     multimodal repositories) is used when neither of the above has a
//     template. AutoTokenizer does not read it (AutoProcessor does), so a
//     template in tokenizer_config.json takes precedence.
func LoadDir(dir string) (*TokenizerConfig, error) {
	cfg, err := ReadTokenizerConfig(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	jinjaPath := filepath.Join(dir, "chat_template.jinja")
	if data, err := os.ReadFile(jinjaPath); err == nil {
		cfg.ChatTemplate, cfg.ChatTemplates, cfg.ChatTemplateFile = string(data), nil, jinjaPath
		return cfg, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if cfg.ChatTemplate != "" || cfg.ChatTemplates != nil {
		return cfg, nil
	}
	jsonPath := filepath.Join(dir, "chat_template.json")
	data, err := os.ReadFile(jsonPath)
	if errors.Is(err, fs.ErrNotExist) {
		return cfg, nil
	} else if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	raw, ok := fields["chat_template"]
	if !ok {
		return nil, fmt.Errorf("%s: no field \"chat_template\"", jsonPath)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: field \"chat_template\": want a string, got %s", jsonPath, rawKind(raw))
	}
	cfg.ChatTemplate, cfg.ChatTemplateFile = s, jsonPath
	return cfg, nil
}

// ParseTokenizerConfig parses the contents of a tokenizer_config.json;
// path names the file in errors.
func ParseTokenizerConfig(path string, data []byte) (*TokenizerConfig, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg := &TokenizerConfig{Path: path}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: field %q: %s", path, field, fmt.Sprintf(format, args...))
	}

	if raw, ok := fields["chat_template"]; ok && !isNull(raw) {
		cfg.ChatTemplateFile = path
		var s string
		var list []json.RawMessage
		switch {
		case json.Unmarshal(raw, &s) == nil:
			cfg.ChatTemplate = s
		case json.Unmarshal(raw, &list) == nil:
			cfg.ChatTemplates = map[string]string{}
			for i, item := range list {
				var t struct {
					Name     *string `json:"name"`
					Template *string `json:"template"`
				}
				if err := json.Unmarshal(item, &t); err != nil || t.Name == nil || t.Template == nil {
					return nil, bad("chat_template", "item %d: want {\"name\": string, \"template\": string}", i)
				}
				if _, dup := cfg.ChatTemplates[*t.Name]; dup {
					return nil, bad("chat_template", "item %d: template %q named twice", i, *t.Name)
				}
				cfg.ChatTemplates[*t.Name] = *t.Template
			}
			cfg.ChatTemplate = cfg.ChatTemplates["default"]
		default:
			return nil, bad("chat_template", "want a string or a list of {\"name\", \"template\"}, got %s", rawKind(raw))
		}
	}

	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"bos_token", &cfg.Special.BOS}, {"eos_token", &cfg.Special.EOS}, {"unk_token", &cfg.Special.UNK},
		{"sep_token", &cfg.Special.SEP}, {"pad_token", &cfg.Special.PAD}, {"cls_token", &cfg.Special.CLS},
		{"mask_token", &cfg.Special.Mask},
	} {
		raw, ok := fields[f.name]
		if !ok || isNull(raw) {
			continue
		}
		s, err := tokenString(raw)
		if err != nil {
			return nil, bad(f.name, "%v", err)
		}
		*f.dst = s
	}
	if raw, ok := fields["additional_special_tokens"]; ok && !isNull(raw) {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, bad("additional_special_tokens", "want a list, got %s", rawKind(raw))
		}
		for i, item := range list {
			s, err := tokenString(item)
			if err != nil {
				return nil, bad("additional_special_tokens", "item %d: %v", i, err)
			}
			cfg.Special.Additional = append(cfg.Special.Additional, s)
		}
	}

	for _, f := range []struct {
		name string
		dst  **bool
	}{{"add_bos_token", &cfg.AddBOSToken}, {"add_eos_token", &cfg.AddEOSToken}} {
		raw, ok := fields[f.name]
		if !ok || isNull(raw) {
			continue
		}
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, bad(f.name, "want true or false, got %s", rawKind(raw))
		}
		*f.dst = &b
	}

	if raw, ok := fields["model_max_length"]; ok && !isNull(raw) {
		n, err := maxLength(raw)
		if err != nil {
			return nil, bad("model_max_length", "%v", err)
		}
		cfg.ModelMaxLength = n
	}
	return cfg, nil
}

// Template returns the template apply_chat_template would use, compiled,
// with the config's special tokens. name "" picks as transformers'
// get_chat_template does with no chat_template argument: the only
// template; of named ones, "tool_use" when withTools and there is one,
// else "default" (an error when there is none). A non-empty name picks a
// named template ("default" also names a single one).
func (c *TokenizerConfig) Template(name string, withTools bool) (*Template, error) {
	var src, label string
	switch {
	case c.ChatTemplates != nil && name != "":
		s, ok := c.ChatTemplates[name]
		if !ok {
			return nil, fmt.Errorf("%s: no chat template named %q (have %s)", c.ChatTemplateFile, name, strings.Join(c.names(), ", "))
		}
		src, label = s, name
	case c.ChatTemplates != nil:
		if s, ok := c.ChatTemplates["tool_use"]; ok && withTools {
			src, label = s, "tool_use"
		} else if s, ok := c.ChatTemplates["default"]; ok {
			src, label = s, "default"
		} else {
			return nil, fmt.Errorf("%s: several chat templates and none named \"default\" (have %s): name one", c.ChatTemplateFile, strings.Join(c.names(), ", "))
		}
	case c.ChatTemplate == "":
		return nil, fmt.Errorf("%s: no chat template", c.Path)
	case name != "" && name != "default":
		return nil, fmt.Errorf("%s: no chat template named %q (the only template is the default)", c.ChatTemplateFile, name)
	default:
		src, label = c.ChatTemplate, "default"
	}
	t, err := Compile(fmt.Sprintf("%s (%s)", c.ChatTemplateFile, label), src)
	if err != nil {
		return nil, err
	}
	t.Special = c.Special
	return t, nil
}

func (c *TokenizerConfig) names() []string {
	var out []string
	for k := range c.ChatTemplates {
		out = append(out, fmt.Sprintf("%q", k))
	}
	slices.Sort(out)
	return out
}

// tokenString reads a special token: a string, or an AddedToken object
// {"content": "...", ...} (older files add "__type": "AddedToken").
func tokenString(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return "", fmt.Errorf("want a string or an AddedToken object, got %s", rawKind(raw))
	}
	c, ok := obj["content"]
	if !ok || json.Unmarshal(c, &s) != nil {
		return "", errors.New("AddedToken object without a string \"content\"")
	}
	return s, nil
}

// maxLength reads model_max_length: a non-negative integer (written as an
// integer or as a whole float such as 1e+30).
func maxLength(raw json.RawMessage) (int64, error) {
	if rawKind(raw) != "a number" {
		return 0, fmt.Errorf("want an integer, got %s", rawKind(raw))
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&num); err != nil {
		return 0, fmt.Errorf("want an integer, got %s", rawKind(raw))
	}
	r, ok := new(big.Rat).SetString(string(num))
	if !ok || !r.IsInt() || r.Sign() < 0 {
		return 0, fmt.Errorf("want a non-negative integer, got %s", num)
	}
	if !r.Num().IsInt64() {
		return NoMaxLength, nil
	}
	return r.Num().Int64(), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// rawKind names the JSON type of raw, for errors.
func rawKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "a list"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
