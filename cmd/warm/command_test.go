package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/sweep"
)

// TestSweepPlanCommand: `warm sweep plan --command` records the template
// and the base's content hash (no head: the trainer brings its own), and an
// unknown placeholder is refused before anything is written.
func TestSweepPlanCommand(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	os.MkdirAll(base, 0o755)
	ts, _ := safetensors.F32Tensor("w", []int{2}, []float32{1, 2})
	if err := safetensors.WriteFile(filepath.Join(base, safetensors.SingleFileName), []safetensors.Tensor{ts}, nil); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		rootCmd.SetOut(&out)
		rootCmd.SetErr(&out)
		rootCmd.SetArgs(args)
		err := rootCmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	man := filepath.Join(dir, "exp", "manifest.json")
	if _, err := run("sweep", "plan", "-o", man, "--base", base, "--inits", base, "--train", "prefs.jsonl", "--members", "2",
		"--command", "train.py --lr {lr} --seed {seed} --out {out} --home ${HOME}"); err != nil {
		t.Fatal(err)
	}
	m, err := sweep.Load(man)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.BaseHash, safetensors.FingerprintPrefix) || m.Head != "" || !strings.Contains(m.Command, "{lr}") {
		t.Errorf("manifest: command %q, base_hash %q, head %q", m.Command, m.BaseHash, m.Head)
	}
	if line := m.RenderCommand(1); !strings.Contains(line, "--out "+filepath.Join(dir, "exp", "members", "member-01.partial")) {
		t.Errorf("rendered: %s", line)
	}
	bad := filepath.Join(dir, "bad", "manifest.json")
	if _, err := run("sweep", "plan", "-o", bad, "--base", base, "--inits", base, "--train", "prefs.jsonl", "--members", "2",
		"--command", "train.py --lr {learning_rate}"); err == nil || !strings.Contains(err.Error(), "{learning_rate}") {
		t.Errorf("an unknown placeholder: %v", err)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a refused manifest was written")
	}
}
