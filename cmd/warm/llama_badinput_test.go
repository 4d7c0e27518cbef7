package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
)

// TestScoreBadInputs runs `warm score` on broken Llama-family checkpoints
// and records: each must exit non-zero with a message naming the file and
// the field, and write nothing.
func TestScoreBadInputs(t *testing.T) {
	bin := buildWarm(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := llamatest.Write(good, llamatest.Options{Family: "qwen2", Vocab: 700, Tokenizer: "../../tokenizer/testdata/qwen2_bpe.json"}); err != nil {
		t.Fatal(err)
	}
	recs := filepath.Join(dir, "recs.jsonl")
	os.WriteFile(recs, []byte(`{"text": "a cat"}`+"\n"), 0o644)
	long := filepath.Join(dir, "long.jsonl")
	os.WriteFile(long, []byte(`{"text": "a cat"}`+"\n"+`{"input_ids": [`+strings.Repeat("5,", 256)+`5]}`+"\n"), 0o644)

	variant := func(name string, edit func(dir string)) string {
		d := filepath.Join(dir, name)
		copyTree(t, good, d)
		edit(d)
		return d
	}
	editConfig := func(key string, value any) func(string) {
		return func(d string) {
			p := filepath.Join(d, "config.json")
			var m map[string]any
			raw, _ := os.ReadFile(p)
			json.Unmarshal(raw, &m)
			m[key] = value
			raw, _ = json.Marshal(m)
			os.WriteFile(p, raw, 0o644)
		}
	}
	yarn := variant("yarn", editConfig("rope_scaling", map[string]any{"rope_type": "yarn", "factor": 4}))
	unknown := variant("unknown", editConfig("use_mrope", true))
	arch := variant("arch", editConfig("architectures", []string{"Qwen2ForTokenClassification"}))
	labels := variant("labels", editConfig("num_labels", 2))
	unigram := variant("unigram", func(d string) {
		p := filepath.Join(d, "tokenizer.json")
		raw, _ := os.ReadFile(p)
		var m map[string]any
		json.Unmarshal(raw, &m)
		m["model"] = map[string]any{"type": "Unigram", "vocab": []any{}}
		raw, _ = json.Marshal(m)
		os.WriteFile(p, raw, 0o644)
	})
	small := filepath.Join(dir, "small")
	if err := llamatest.Write(small, llamatest.Options{Family: "qwen2", Vocab: 300, Tokenizer: "../../tokenizer/testdata/qwen2_bpe.json"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, model, records string
		want                 []string
	}{
		{"rope type", yarn, recs, []string{"config.json", "rope_scaling.rope_type", "yarn"}},
		{"unknown field", unknown, recs, []string{"config.json", "use_mrope"}},
		{"architecture", arch, recs, []string{"config.json", "Qwen2ForTokenClassification"}},
		{"num_labels", labels, recs, []string{"config.json", "num_labels 2"}},
		{"tokenizer model", unigram, recs, []string{"tokenizer.json", "Unigram"}},
		{"vocabulary", small, recs, []string{"tokenizer.json", "vocab_size is 300"}},
		{"too long", good, long, []string{"long.jsonl:2", "257 tokens", "max_position_embeddings"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "rewards.jsonl")
			cmd := exec.Command(bin, "score", "--model", c.model, c.records, "-o", out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err == nil {
				t.Fatal("exit status 0")
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("output written")
			}
		})
	}
}
