package chat

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func readTemplate(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/templates", name+".jinja"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadDir(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		dir          string
		template     string // file in testdata/templates
		templateFile string // base name of ChatTemplateFile
		special      SpecialTokens
		addBOS       *bool
		addEOS       *bool
		maxLen       int64
	}{
		{"qwen2.5", "qwen2.5-instruct", "tokenizer_config.json",
			SpecialTokens{EOS: "<|im_end|>", PAD: "<|endoftext|>", Additional: []string{"<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>"}},
			&no, nil, 131072},
		{"llama-3.1", "llama-3.1-instruct", "tokenizer_config.json",
			SpecialTokens{BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"}, nil, nil, 131072},
		{"gemma", "gemma-it", "tokenizer_config.json",
			SpecialTokens{BOS: "<bos>", EOS: "<eos>", PAD: "<pad>", UNK: "<unk>"}, &yes, &no, NoMaxLength},
		{"named", "llama-3-instruct", "tokenizer_config.json",
			SpecialTokens{BOS: "<|begin_of_text|>", EOS: "<|eot_id|>"}, nil, nil, 8192},
		{"jinja-file", "qwen3", "chat_template.jinja",
			SpecialTokens{EOS: "<|im_end|>", PAD: "<|endoftext|>"}, nil, nil, 40960},
		{"json-file", "qwen2-instruct", "chat_template.json",
			SpecialTokens{EOS: "<|im_end|>", PAD: "<|endoftext|>"}, nil, nil, 32768},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			cfg, err := LoadDir(filepath.Join("testdata/configs", tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			if want := readTemplate(t, tc.template); cfg.ChatTemplate != want {
				t.Errorf("ChatTemplate is not %s.jinja", tc.template)
			}
			if got := filepath.Base(cfg.ChatTemplateFile); got != tc.templateFile {
				t.Errorf("ChatTemplateFile %s, want %s", got, tc.templateFile)
			}
			if cfg.Special.BOS != tc.special.BOS || cfg.Special.EOS != tc.special.EOS || cfg.Special.PAD != tc.special.PAD ||
				cfg.Special.UNK != tc.special.UNK || !slices.Equal(cfg.Special.Additional, tc.special.Additional) {
				t.Errorf("Special %+v, want %+v", cfg.Special, tc.special)
			}
			if !sameBool(cfg.AddBOSToken, tc.addBOS) || !sameBool(cfg.AddEOSToken, tc.addEOS) {
				t.Errorf("add_bos/eos_token %v %v, want %v %v", cfg.AddBOSToken, cfg.AddEOSToken, tc.addBOS, tc.addEOS)
			}
			if cfg.ModelMaxLength != tc.maxLen {
				t.Errorf("ModelMaxLength %d, want %d", cfg.ModelMaxLength, tc.maxLen)
			}
			tmpl, err := cfg.Template("", false)
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Special.EOS != tc.special.EOS {
				t.Errorf("template's special tokens %+v", tmpl.Special)
			}
			if _, err := tmpl.Render([]Message{{Role: "user", Content: "hi"}}, RenderOptions{AddGenerationPrompt: true}); err != nil {
				t.Error(err)
			}
		})
	}
}

func sameBool(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestNamedTemplates: a list of {"name", "template"} picks as transformers'
// get_chat_template does.
func TestNamedTemplates(t *testing.T) {
	cfg, err := LoadDir("testdata/configs/named")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ChatTemplates) != 2 {
		t.Fatalf("ChatTemplates %v", cfg.ChatTemplates)
	}
	for _, tc := range []struct {
		name      string
		withTools bool
		want      string
	}{
		{"", false, "llama-3-instruct"},
		{"", true, "llama-3.1-instruct"},
		{"default", true, "llama-3-instruct"},
		{"tool_use", false, "llama-3.1-instruct"},
	} {
		tmpl, err := cfg.Template(tc.name, tc.withTools)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Source != readTemplate(t, tc.want) {
			t.Errorf("Template(%q, %v) is not %s", tc.name, tc.withTools, tc.want)
		}
	}
	if _, err := cfg.Template("rag", false); err == nil || !strings.Contains(err.Error(), `"rag"`) || !strings.Contains(err.Error(), `"tool_use"`) {
		t.Errorf("unknown name: %v", err)
	}
	noDefault, err := ParseTokenizerConfig("x.json", []byte(`{"chat_template": [{"name": "a", "template": "A"}, {"name": "b", "template": "B"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noDefault.Template("", false); err == nil || !strings.Contains(err.Error(), "default") {
		t.Errorf("no default: %v", err)
	}
	single, err := ParseTokenizerConfig("y.json", []byte(`{"chat_template": "X"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := single.Template("tool_use", true); err == nil {
		t.Error("a single template answered to the name tool_use")
	}
	none, err := ParseTokenizerConfig("z.json", []byte(`{"chat_template": null, "model_max_length": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := none.Template("", false); err == nil || !strings.Contains(err.Error(), "z.json") {
		t.Errorf("no template: %v", err)
	}
}

// TestConfigTolerant: keys warm does not read, of any type, are ignored.
func TestConfigTolerant(t *testing.T) {
	cfg, err := ParseTokenizerConfig("t.json", []byte(`{
		"chat_template": "{{ bos_token }}", "bos_token": "<s>",
		"added_tokens_decoder": {"0": {"content": "<unk>", "special": true}},
		"auto_map": {"AutoTokenizer": ["a", null]}, "legacy": null, "padding_side": "left",
		"sp_model_kwargs": {}, "truncation_side": 3, "model_max_length": 1e+30,
		"sep_token": "[SEP]", "cls_token": {"content": "[CLS]"}, "mask_token": "[MASK]"}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ModelMaxLength != NoMaxLength || cfg.Special.SEP != "[SEP]" || cfg.Special.CLS != "[CLS]" || cfg.Special.Mask != "[MASK]" {
		t.Errorf("%+v", cfg)
	}
	vars := cfg.Special.Vars()
	if _, ok := vars["pad_token"]; ok || vars["cls_token"] != "[CLS]" {
		t.Errorf("Vars %v: unset tokens must be absent", vars)
	}
}

// TestConfigStrict: a read field of the wrong type is an error naming the
// file and the field.
func TestConfigStrict(t *testing.T) {
	for _, tc := range []struct {
		json, field string
	}{
		{`{"chat_template": 3}`, "chat_template"},
		{`{"chat_template": {"default": "x"}}`, "chat_template"},
		{`{"chat_template": [{"name": "default"}]}`, "chat_template"},
		{`{"chat_template": [{"name": "a", "template": "x"}, {"name": "a", "template": "y"}]}`, "chat_template"},
		{`{"chat_template": ["x"]}`, "chat_template"},
		{`{"bos_token": 1}`, "bos_token"},
		{`{"eos_token": {"special": true}}`, "eos_token"},
		{`{"pad_token": {"content": 5}}`, "pad_token"},
		{`{"unk_token": ["<unk>"]}`, "unk_token"},
		{`{"additional_special_tokens": "<a>"}`, "additional_special_tokens"},
		{`{"additional_special_tokens": ["<a>", 2]}`, "additional_special_tokens"},
		{`{"add_bos_token": "true"}`, "add_bos_token"},
		{`{"add_eos_token": 1}`, "add_eos_token"},
		{`{"model_max_length": -1}`, "model_max_length"},
		{`{"model_max_length": 1.5}`, "model_max_length"},
		{`{"model_max_length": "2048"}`, "model_max_length"},
	} {
		_, err := ParseTokenizerConfig("bad/tokenizer_config.json", []byte(tc.json))
		if err == nil {
			t.Errorf("%s: no error", tc.json)
			continue
		}
		if !strings.Contains(err.Error(), "bad/tokenizer_config.json") || !strings.Contains(err.Error(), `"`+tc.field+`"`) {
			t.Errorf("%s: error %q does not name the file and %s", tc.json, err, tc.field)
		}
	}
	if _, err := ParseTokenizerConfig("broken.json", []byte(`{"chat_template": `)); err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Errorf("broken JSON: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(dir, "chat_template.json"), []byte(`{"chat_template": ["x"]}`), 0o644)
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "chat_template.json") {
		t.Errorf("bad chat_template.json: %v", err)
	}
	if _, err := LoadDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") {
		t.Errorf("missing tokenizer_config.json: %v", err)
	}
}

// TestBOSOnce: a Llama template prints the BOS itself, once, at the start;
// the caller encodes without special tokens (package doc).
func TestBOSOnce(t *testing.T) {
	cfg, err := LoadDir("testdata/configs/llama-3.1")
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := cfg.Template("", false)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tmpl.Render([]Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"}},
		RenderOptions{Now: func() time.Time { return time.Date(2025, 3, 7, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "<|begin_of_text|>") || strings.Count(out, "<|begin_of_text|>") != 1 {
		t.Errorf("BOS not printed exactly once at the start: %q", out)
	}
}
