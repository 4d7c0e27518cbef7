package chat

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestParseMessages: every key of a turn is kept in order, null content is
// told from absent content, and nested objects keep their key order.
func TestParseMessages(t *testing.T) {
	raw := json.RawMessage(`[
		{"content": "hi", "role": "user", "name": "alice"},
		{"role": "assistant", "reasoning_content": "think", "content": [{"type": "text", "text": "a"}],
		 "tool_calls": [{"function": {"name": "f", "arguments": {"z": 1, "a": 2.5}}}]},
		{"role": "assistant", "content": null},
		{"role": "tool"}
	]`)
	msgs, err := ParseMessages(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || msgs[0].Role != "user" || msgs[0].Content != "hi" {
		t.Fatalf("%+v", msgs)
	}
	if v, _ := msgs[0].Extra.Get("name"); v != "alice" {
		t.Errorf("extra key lost: %+v", msgs[0])
	}
	if msgs[2].Content != (Null{}) || msgs[3].Content != nil {
		t.Errorf("null content %#v, absent content %#v", msgs[2].Content, msgs[3].Content)
	}
	out, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"content":"hi","role":"user","name":"alice"},` +
		`{"role":"assistant","reasoning_content":"think","content":[{"type":"text","text":"a"}],"tool_calls":[{"function":{"name":"f","arguments":{"z":1,"a":2.5}}}]},` +
		`{"role":"assistant","content":null},{"role":"tool"}]`
	if string(out) != want {
		t.Errorf("round trip\n got %s\nwant %s", out, want)
	}

	// The dicts a template sees are in the same order.
	tm, err := Compile("keys", `{% for m in messages %}{{ m.keys()|list|join(',') }};{{ m.content is defined }}|{% endfor %}{{ messages[1].tool_calls[0].function.arguments|tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(msgs, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := `content,role,name;True|role,reasoning_content,content,tool_calls;True|role,content;True|role;False|{"z": 1, "a": 2.5}`; got != w {
		t.Errorf("template view\n got %q\nwant %q", got, w)
	}
}

func TestParseMessagesErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"role": "user"}`, "want a list"},
		{`[{"role": "user", "content": "x"}, "hello"]`, "messages[1]"},
		{`[{"content": "x"}]`, `messages[0]: no "role"`},
		{`[{"role": 3, "content": "x"}]`, `"role" must be a string`},
		{`[{"role": "user"`, "messages"},
		{`[] []`, "trailing"},
	} {
		_, err := ParseMessages(json.RawMessage(tc.json))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.json, err, tc.want)
		}
	}
	var m Message
	if err := json.Unmarshal([]byte(`[1]`), &m); err == nil {
		t.Error("a list unmarshalled into a Message")
	}
}

// TestMessageBuiltInGo: a Message built in Go renders with role, content,
// then the extras; Go maps are accepted with sorted keys.
func TestMessageBuiltInGo(t *testing.T) {
	extra := NewObject()
	extra.Set("tool_calls", []any{map[string]any{"b": 1, "a": int64(2), "f": 0.5}})
	msgs := []Message{{Role: "assistant", Content: "x", Extra: extra}}
	tm, err := Compile("go", `{{ messages[0].keys()|list|join(',') }} {{ messages[0].tool_calls|tojson }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(msgs, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := `role,content,tool_calls [{"a": 2, "b": 1, "f": 0.5}]`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := tm.Render([]Message{{Role: "user", Content: struct{}{}}}, RenderOptions{}); err == nil || !strings.Contains(err.Error(), "messages[0]") {
		t.Errorf("a struct content: %v", err)
	}
	if _, err := tm.Render([]Message{{Role: "user", Content: json.Number("123456789012345678901")}}, RenderOptions{}); err == nil {
		t.Error("an integer beyond int64 was accepted")
	}
}

func TestRenderOptions(t *testing.T) {
	tm, err := Compile("opts", `{{ bos_token }}|{{ eos_token is defined }}|{{ tools is none }}|{{ documents|length }}|{{ add_generation_prompt }}|{{ enable_thinking }}`)
	if err != nil {
		t.Fatal(err)
	}
	tm.Special = SpecialTokens{BOS: "<s>"}
	got, err := tm.Render(nil, RenderOptions{
		AddGenerationPrompt: true,
		Documents:           []any{map[string]any{"title": "t", "text": "x"}},
		Vars:                map[string]any{"enable_thinking": false, "bos_token": "<override>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := `<override>|False|True|1|True|False`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, k := range []string{"messages", "tools", "add_generation_prompt", "raise_exception", "warm_tojson"} {
		if _, err := tm.Render(nil, RenderOptions{Vars: map[string]any{k: 1}}); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("Vars[%q]: %v", k, err)
		}
	}
}

func TestRaiseError(t *testing.T) {
	tm, err := Compile("gemma", `{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tm.Render([]Message{{Role: "system", Content: "x"}}, RenderOptions{})
	var re *RaiseError
	if !errors.As(err, &re) || re.Message != "System role not supported" || re.Template != "gemma" {
		t.Fatalf("got %v", err)
	}
	if want := "chat template gemma: raise_exception: System role not supported"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if _, err := Compile("bad", `{% if %}`); err == nil || !strings.Contains(err.Error(), "chat template bad") {
		t.Errorf("compile error: %v", err)
	}
	_, err = Compile("unclosed", `{{ 'a' `)
	if err == nil || !strings.Contains(err.Error(), "unclosed") {
		t.Errorf("unclosed tag: %v", err)
	}
}

// TestGenerationBlock: transformers' {% generation %} renders its body,
// whitespace control kept.
func TestGenerationBlock(t *testing.T) {
	tm, err := Compile("gen", "{% for m in messages %}{%- if m.role == 'assistant' %}\n  {%- generation -%}\n  [{{ m.content }}]\n  {%- endgeneration %}\n{% else %}({{ m.content }}){% endif %}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render([]Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "(q)[a]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSourceLikeJinja2: what jinja2's lexer does before rendering and the
// library does not — newline normalisation, the dropped trailing newline,
// Python string escapes. Expected values from jinja2 3.1.2.
func TestSourceLikeJinja2(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a\r\nb\rc\n", "a\nb\nc"},
		{"x{% if true %}\r\ny{% endif %}\n\n", "xy"},
		{`{{ 'q\rw\x41\u00e9\101\b' }}`, "q\rwAéA\b"},
		{`{{ "it\'s" }}|{{ 'a"b' }}|{{ '\d\\' }}|{{ "x\"y" }}|{{ '\U0001F600\0' }}`, "it's|a\"b|\\d\\|x\"y|😀\x00"},
		{"{{ 'line\\\ncont' }}", "linecont"},
	} {
		tm, err := Compile("src", tc.src)
		if err != nil {
			t.Errorf("%q: %v", tc.src, err)
			continue
		}
		got, err := tm.Render(nil, RenderOptions{})
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q (%v), want %q", tc.src, got, err, tc.want)
		}
	}
	for _, src := range []string{`{{ '\x4' }}`, `{{ '\uZZZZ' }}`, `{{ '\N{BULLET}' }}`} {
		if _, err := Compile("bad", src); err == nil {
			t.Errorf("%s compiled", src)
		}
	}
}
