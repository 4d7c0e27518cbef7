package scorer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
)

func writeRM(t *testing.T, family, tok string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), family)
	if err := llamatest.Write(dir, llamatest.Options{Family: family, Vocab: 700, Tokenizer: tok, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestScoreRecordForms(t *testing.T) {
	ctx := context.Background()
	s, err := Load(writeRM(t, "llama", "../tokenizer/testdata/llama3_bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	bos, ok := s.Tok.TokenToID("<|begin_of_text|>")
	if !ok {
		t.Fatal("fixture has no <|begin_of_text|>")
	}
	ids, err := s.EncodeText("the cat sat")
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != int32(bos) {
		t.Errorf("text record does not start with the BOS the post-processor adds: %v", ids)
	}
	lines := []string{
		`{"text": "the cat sat", "id": 7}`,
		`{"prompt": "the cat", "response": " sat"}`,
		`{"input_ids": ` + intsJSON(ids) + `}`,
		`{"text": "a different text altogether"}`,
	}
	var recs []Record
	for i, l := range lines {
		r, err := ParseRecord([]byte(l), "x:"+string(rune('1'+i)))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	r, err := s.Score(ctx, recs, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != r[1] || r[0] != r[2] {
		t.Errorf("the same tokens scored differently by form: %v", r[:3])
	}
	if r[3] == r[0] {
		t.Errorf("different texts gave the same reward %v", r[3])
	}
	one, err := s.Score(ctx, recs[3:], 1)
	if err != nil || one[0] != r[3] {
		t.Errorf("batching changed a reward: %v vs %v (%v)", one, r[3], err)
	}
}

func intsJSON(ids []int32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	b.WriteByte(']')
	return b.String()
}

func TestBadRecords(t *testing.T) {
	for _, c := range []struct{ line, want string }{
		{`{"text": "a", "input_ids": [1]}`, "ambiguous"},
		{`{"prompt": "a"}`, "needs response"},
		{`{"input_ids": [1, -2]}`, "input_ids[1]"},
		{`{"id": 3}`, "no field to score"},
		{`[1, 2]`, "not a JSON object"},
		{`{"text": 3}`, "field text"},
		{`{"prompt": "a", "response": [1]}`, "two strings or two lists"},
	} {
		if _, err := ParseRecord([]byte(c.line), "f.jsonl:4"); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.jsonl:4") {
			t.Errorf("%s: error %v, want one naming f.jsonl:4 and %q", c.line, err, c.want)
		}
	}
	s, err := Load(writeRM(t, "qwen2", ""))
	if err != nil {
		t.Fatal(err)
	}
	long := make([]int32, 257)
	for _, c := range []struct {
		r    Record
		want string
	}{
		{Record{Source: "f:1", InputIDs: long}, "more than the model's 256 positions"},
		{Record{Source: "f:2", InputIDs: []int32{5, 700}}, "outside the model's vocabulary"},
		{Record{Source: "f:3", Text: new(string)}, "no tokenizer.json"},
	} {
		if _, err := s.Score(context.Background(), []Record{c.r}, 4); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.r, err, c.want)
		}
	}
}

func TestReadRecordsNamesLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.jsonl")
	os.WriteFile(p, []byte("{\"text\": \"a\"}\n\n{\"text\": oops}\n"), 0o644)
	if _, err := ReadRecords(p); err == nil || !strings.Contains(err.Error(), "r.jsonl:3") {
		t.Errorf("error %v does not name r.jsonl:3", err)
	}
}

// TestLoadRefusesWrongTokenizer: a tokenizer larger than the embedding.
func TestLoadRefusesWrongTokenizer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	if err := llamatest.Write(dir, llamatest.Options{Vocab: 100, Tokenizer: "../tokenizer/testdata/qwen2_bpe.json"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "vocab_size is 100") {
		t.Errorf("error %v", err)
	}
}

// withTemplate writes a tokenizer_config.json holding a chat template from
// chat/testdata into dir.
func withTemplate(t *testing.T, dir, template string, special map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("../chat/testdata/templates", template))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"chat_template": string(src)}
	for k, v := range special {
		cfg[k] = v
	}
	raw, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScoreMessages scores conversations through the chat template: a
// messages record equals the text the template renders, tokenized without
// special tokens; a conversational prompt/response is the same
// conversation; EncodeChat (samples from a policy of another family) is the
// user/assistant exchange.
func TestScoreMessages(t *testing.T) {
	ctx := context.Background()
	dir := writeRM(t, "qwen2", "../tokenizer/testdata/qwen2_bpe.json")
	withTemplate(t, dir, "qwen2-instruct.jinja", map[string]string{"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Chat == nil {
		t.Fatal("no chat template loaded")
	}
	rendered := "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\n sat on the mat<|im_end|>\n"
	lines := []string{
		`{"messages": [{"role": "user", "content": "the cat"}, {"role": "assistant", "content": " sat on the mat"}]}`,
		`{"prompt": [{"role": "user", "content": "the cat"}], "response": [{"role": "assistant", "content": " sat on the mat"}]}`,
	}
	var recs []Record
	for i, l := range lines {
		r, err := ParseRecord([]byte(l), "m.jsonl:"+strconv.Itoa(i+1))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	want := s.Tok.Encode(rendered)
	ids, err := s.Encode(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != len(want) {
		t.Fatalf("messages encode to %d ids, the rendered text to %d", len(ids), len(want))
	}
	for i := range ids {
		if int(ids[i]) != want[i] {
			t.Fatalf("id %d: %d, rendered text %d", i, ids[i], want[i])
		}
	}
	imStart, _ := s.Tok.TokenToID("<|im_start|>")
	if int(ids[0]) != imStart {
		t.Errorf("the template's <|im_start|> is not one special token: %v", ids[:3])
	}
	r, err := s.Score(ctx, recs, 2)
	if err != nil {
		t.Fatal(err)
	}
	chatIDs, err := s.EncodeChat("the cat", " sat on the mat")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := s.Rewards(ctx, [][]int32{chatIDs}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != r[1] || r[0] != rc[0] {
		t.Errorf("one conversation, three rewards: %v %v %v", r[0], r[1], rc[0])
	}

	// A template that refuses the conversation: the error carries its message.
	gemma := writeRM(t, "gemma2", "../tokenizer/testdata/qwen2_bpe.json")
	withTemplate(t, gemma, "gemma-it.jinja", map[string]string{"bos_token": "<|endoftext|>"})
	g, err := Load(gemma)
	if err != nil {
		t.Fatal(err)
	}
	sys, _ := ParseRecord([]byte(`{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]}`), "g.jsonl:1")
	if _, err := g.Score(ctx, []Record{sys}, 1); err == nil || !strings.Contains(err.Error(), "g.jsonl:1") || !strings.Contains(err.Error(), "System role not supported") {
		t.Errorf("a system turn through Gemma's template: %v", err)
	}
	// Content as a list of parts: Qwen2's template concatenates it with +,
	// which Python refuses with TypeError, and so does warm.
	parts, _ := ParseRecord([]byte(`{"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}`), "m.jsonl:3")
	if _, err := s.Score(ctx, []Record{parts}, 1); err == nil || !strings.Contains(err.Error(), "m.jsonl:3") || !strings.Contains(err.Error(), `TypeError: can only concatenate str (not "list") to str`) {
		t.Errorf("list content through Qwen2's template: %v", err)
	}
	// A checkpoint without a template refuses messages, naming the cause.
	plain, _ := Load(writeRM(t, "llama", "../tokenizer/testdata/llama3_bpe.json"))
	if _, err := plain.Score(ctx, recs[:1], 1); err == nil || !strings.Contains(err.Error(), "no chat template") {
		t.Errorf("messages without a template: %v", err)
	}
}
