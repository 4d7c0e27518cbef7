package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/internal/llamatest"
)

// TestMergeCheckOn checks merge --check-on both ways: a member merged with
// a copy of itself passes and is written; a member merged with its own
// reward head negated averages to a zero head (every pair a tie, accuracy
// 0), fails, and nothing is written.
func TestMergeCheckOn(t *testing.T) {
	dir := t.TempDir()
	tinyPolicySetup(t, dir)
	member := filepath.Join(dir, "sweep", "members", "member-00")
	twin := filepath.Join(dir, "twin")
	copyTree(t, member, twin)
	ck, err := checkpoint.Load(member)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ck.Model.Params() {
		if p.Name == "score.weight" {
			for i := range p.Data {
				p.Data[i] = -p.Data[i]
			}
		}
	}
	neg := filepath.Join(dir, "negated")
	if err := checkpoint.Save(neg, ck, false); err != nil {
		t.Fatal(err)
	}
	pairs := filepath.Join(dir, "data", "ood_dev.jsonl")
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		mergeFlags = mergeFlagValues{accumulate: "F64", shardSize: "0", fingerprint: "auto", checkTol: 0.02, checkBatch: 8}
		for _, f := range []string{"lambda", "weights"} {
			mergeCmd.Flags().Lookup(f).Changed = false
		}
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&out)
		rootCmd.SetArgs(append([]string{"merge", "-q", "--ignore-base-fingerprint"}, args...))
		err := rootCmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	good := filepath.Join(dir, "good")
	if out, err := run("--check-on", pairs, "-o", good, member, twin); err != nil {
		t.Fatalf("self-merge failed its check: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(good, "config.json")); err != nil {
		t.Fatalf("passing merge not written: %v", err)
	}
	bad := filepath.Join(dir, "bad")
	_, err = run("--check-on", pairs, "-o", bad, member, neg)
	if err == nil || !strings.Contains(err.Error(), "below the members' mean") {
		t.Fatalf("merge with the negated head: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() == "bad" || strings.HasPrefix(e.Name(), ".bad") {
			t.Errorf("failed check left %s behind", e.Name())
		}
	}
	if _, err := run("--check-on", pairs, "-o", filepath.Join(dir, "x.safetensors"), member, twin); err == nil {
		t.Error("--check-on with a single-file output succeeded")
	}

	// The same for a Qwen2 reward model.
	q := filepath.Join(dir, "q")
	if err := llamatest.Write(q, llamatest.Options{Family: "qwen2", Vocab: 700, Tokenizer: "../../tokenizer/testdata/qwen2_bpe.json", Seed: 4}); err != nil {
		t.Fatal(err)
	}
	qtwin, qneg := filepath.Join(dir, "qtwin"), filepath.Join(dir, "qneg")
	copyTree(t, q, qtwin)
	copyTree(t, q, qneg)
	if err := llamatest.EditTensor(qneg, "score.weight", negate); err != nil {
		t.Fatal(err)
	}
	if out, err := run("--check-on", pairs, "-o", filepath.Join(dir, "qgood"), q, qtwin); err != nil {
		t.Fatalf("Qwen2 self-merge failed its check: %v\n%s", err, out)
	}
	if _, err := run("--check-on", pairs, "-o", filepath.Join(dir, "qbad"), q, qneg); err == nil || !strings.Contains(err.Error(), "below the members' mean") {
		t.Fatalf("Qwen2 merge with the negated head: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "qbad")); err == nil {
		t.Error("a failed Qwen2 check wrote its output")
	}
}

func negate(v []float32) {
	for i := range v {
		v[i] = -v[i]
	}
}
