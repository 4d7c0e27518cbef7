package llamatest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/sweep"
)

// WriteSweep writes, under dir, a sweep as a --command manifest gathers it
// from another trainer: n Qwen2 reward models (members/member-0K, seeds
// 1..n, vocabulary 700, tokenizer copied from tokenizer), 40 preference
// pairs (pairs.jsonl, the training file and the test, ood_dev and ood_test
// sets) and manifest.json, whose path it returns.
func WriteSweep(dir string, n int, tokenizer string) (string, error) {
	for k := range n {
		if err := Write(filepath.Join(dir, "members", fmt.Sprintf("member-%02d", k)), Options{Vocab: 700, Tokenizer: tokenizer, Seed: uint64(k + 1)}); err != nil {
			return "", err
		}
	}
	var lines []string
	for i := range 40 {
		b, _ := json.Marshal(map[string]string{"prompt": fmt.Sprintf("post %d: the cat sat.", i), "chosen": fmt.Sprintf(" a summary %d", i%7), "rejected": fmt.Sprintf(" another one %d", i%5)})
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(filepath.Join(dir, "pairs.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	man := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "members/member-00", Train: "pairs.jsonl",
		Command: "train {out}", BaseHash: "wfp1:x", Config: sweep.DefaultConfig(),
		Eval: []sweep.EvalSet{{Name: "test", Path: "pairs.jsonl"}, {Name: "ood_dev", Path: "pairs.jsonl"}, {Name: "ood_test", Path: "pairs.jsonl"}}}
	for k := range n {
		man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("member-%02d", k), Init: "members/member-00", LR: 1e-5, Role: "random"})
	}
	path := filepath.Join(dir, "manifest.json")
	return path, man.Save(path)
}
