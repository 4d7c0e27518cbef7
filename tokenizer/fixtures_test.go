package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parityCorpus is the text the parity fixtures' merges are trained on: a few
// hundred merges over English prose, contractions, numbers and code, with a
// little accented, CJK and emoji text so that some multi-byte merges exist.
var parityCorpus = []string{
	"The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's sleeping.",
	"A reward model reads the last token of a response and says how good the response is.",
	"We average the weights of several reward models: weight averaged reward models are more robust.",
	"I'm sure you'll like it, we've tested it and they're happy. He'd say she's right.",
	"Numbers: 1, 12, 123, 1234, 12345, 2024-01-15, 3.14159, $100, 50% of 200 is 100.",
	"def encode(text):\n    return [ord(c) for c in text]\n\nif __name__ == \"__main__\":\n    print(encode(\"hello\"))",
	"for i := 0; i < len(s); i++ {\n\tfmt.Println(s[i])\n}",
	"Tokenization splits text into pieces; the pieces are then merged by rank.",
	"Café, naïve, résumé, über, façade, São Paulo, Zürich.",
	"東京は日本の首都です。 北京是中国的首都。",
	"Thanks! 🙂 See you soon 👋 — bye…",
	"The model was trained on the training set and evaluated on the test set.",
	"Hello world! Hello, World. HELLO WORLD? hello... world!!!",
}

// writeParityFixtures is set by WARM_WRITE_FIXTURES=1: TestWriteParityFixtures
// then rewrites testdata/llama3_bpe.json and testdata/qwen2_bpe.json (run
// testdata/gen_parity.mjs afterwards to refresh the golden file).
var writeParityFixtures = os.Getenv("WARM_WRITE_FIXTURES") == "1"

// TestWriteParityFixtures builds the small Llama-3 and Qwen2 style
// tokenizer.json files that parity_golden.json was made from. It only writes
// when asked to; otherwise it checks the committed files still load.
func TestWriteParityFixtures(t *testing.T) {
	if !writeParityFixtures {
		for _, name := range []string{"llama3_bpe.json", "qwen2_bpe.json"} {
			if _, err := Load(filepath.Join("testdata", name)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var docs []string
	for range 20 {
		docs = append(docs, parityCorpus...)
	}
	tk := mustTrain(t, docs, TrainConfig{VocabSize: FirstMergeID + 400})
	// The vocabulary: byte tokens, then merged tokens (without warm's own
	// special tokens), then tokens no merge makes (so that ignore_merges
	// matters), then the added tokens.
	var vocab []string
	for id := 0; id < tk.VocabSize(); id++ {
		if id != TrainedEOSID && id != TrainedPadID {
			vocab = append(vocab, tk.tokens[id])
		}
	}
	for _, w := range []string{"Ġsupercalifragilisticexpialidocious", "antidisestablishment", "Ġzebra", "quixotic"} {
		if _, ok := tk.TokenToID(w); ok {
			t.Fatalf("%q is already a trained token", w)
		}
		vocab = append(vocab, w)
	}
	merges := tk.Merges()
	write := func(name string, f any) {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vocabMap := func() map[string]int {
		m := make(map[string]int, len(vocab))
		for id, tok := range vocab {
			m[tok] = id
		}
		return m
	}
	// added makes added tokens after the vocabulary; a name starting with
	// "!" is a non-special one (as Qwen2.5's "<tool_call>").
	added := func(names ...string) []map[string]any {
		var out []map[string]any
		for k, n := range names {
			special := !strings.HasPrefix(n, "!")
			out = append(out, map[string]any{"id": len(vocab) + k, "content": strings.TrimPrefix(n, "!"), "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": special})
		}
		return out
	}
	pre := func(pat string) map[string]any {
		return map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": pat}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}}
	}
	decoder := map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}
	byteLevelPost := map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true}
	model := func(ignore bool, merges any) map[string]any {
		return map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": ignore, "vocab": vocabMap(), "merges": merges}
	}

	// Llama-3: merges as "a b" strings, ignore_merges, BOS by TemplateProcessing.
	var strMerges []string
	for _, m := range merges {
		strMerges = append(strMerges, m[0]+" "+m[1])
	}
	bos := len(vocab)
	tmpl := map[string]any{"type": "TemplateProcessing",
		"single": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
		},
		"pair": []any{
			map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 0}},
			map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}},
			map[string]any{"SpecialToken": map[string]any{"id": "<|begin_of_text|>", "type_id": 1}},
			map[string]any{"Sequence": map[string]any{"id": "B", "type_id": 1}},
		},
		"special_tokens": map[string]any{"<|begin_of_text|>": map[string]any{"id": "<|begin_of_text|>", "ids": []int{bos}, "tokens": []string{"<|begin_of_text|>"}}},
	}
	write("llama3_bpe.json", map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":   added("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"),
		"normalizer":     nil,
		"pre_tokenizer":  pre(Llama3Pattern),
		"post_processor": map[string]any{"type": "Sequence", "processors": []any{byteLevelPost, tmpl}},
		"decoder":        decoder,
		"model":          model(true, strMerges),
	})
	// Qwen2: merges as ["a", "b"] pairs, no BOS (ByteLevel post-processor),
	// an NFC normalizer as Qwen2's own file has.
	write("qwen2_bpe.json", map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil,
		"added_tokens":   added("<|endoftext|>", "<|im_start|>", "<|im_end|>", "!<tool_call>", "!</tool_call>"),
		"normalizer":     map[string]any{"type": "NFC"},
		"pre_tokenizer":  pre(Qwen2Pattern),
		"post_processor": byteLevelPost,
		"decoder":        decoder,
		"model":          model(false, merges),
	})
}
