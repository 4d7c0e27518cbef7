package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runData runs `warm data ARGS...` on a fresh command tree.
func runData(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newDataCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDataSynthAndStats(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "task")
	out, err := runData(t, "synth", "-o", dir, "--seed", "3", "--train-pairs", "400", "--test-pairs", "100",
		"--ood-dev-pairs", "50", "--ood-test-pairs", "50", "--prompts", "10", "--sft", "20", "--corpus-mb", "0.05", "--corrupt", "0.25")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "train") || !strings.Contains(out, "longer wins") {
		t.Errorf("synth output: %s", out)
	}
	out, err = runData(t, "stats", "--json", filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var st []fileStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	if len(st) != 3 || st[0].Pairs == nil || st[0].Pairs.Pairs != 400 || st[0].Pairs.Flipped != 100 || st[1].Examples == nil || st[1].Examples.Examples != 20 || st[2].Text == nil {
		t.Errorf("stats: %s", out)
	}
}

func TestDataStatsMalformed(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.jsonl", "{\"chosen\":\"a b\",\"rejected\":\"a c\"}\n{oops\n")
	if _, err := runData(t, "stats", bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2") {
		t.Errorf("malformed JSONL: err = %v", err)
	}
	out, err := runData(t, "stats", "--skip-bad", bad)
	if err != nil || !strings.Contains(out, "1 skipped") || !strings.Contains(out, "bad.jsonl:2") {
		t.Errorf("--skip-bad: err %v, output %s", err, out)
	}
	one := write("one.csv", "good,bad\nlonely\n")
	if _, err := runData(t, "stats", one); err == nil || !strings.Contains(err.Error(), "one.csv:2") {
		t.Errorf("one-column CSV: err = %v", err)
	}
	missing := write("missing.jsonl", "{\"prompt\":\"p\",\"chosen\":\"a\"}\n")
	if _, err := runData(t, "stats", missing); err == nil || !strings.Contains(err.Error(), "missing field \"rejected\"") {
		t.Errorf("missing field: err = %v", err)
	}
	empty := write("empty.jsonl", "")
	if _, err := runData(t, "stats", empty); err == nil || !strings.Contains(err.Error(), "no records") {
		t.Errorf("empty file: err = %v", err)
	}
	if _, err := runData(t, "synth"); err == nil {
		t.Error("synth without -o: want error")
	}
}
