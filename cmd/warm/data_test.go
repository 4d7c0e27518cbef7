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

func TestDataDegenerate(t *testing.T) {
	dir := t.TempDir()
	pairs := filepath.Join(dir, "pairs.jsonl")
	samples := filepath.Join(dir, "samples.jsonl")
	if err := os.WriteFile(pairs, []byte(`{"prompt": "", "chosen": "I helped my neighbour carry her groceries up the stairs", "rejected": "I carried the groceries up the stairs for nobody"}
{"chosen": "too short", "rejected": "also short"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(samples, []byte(`{"prompt": "My friend asked me", "completion": " to help her move and I said yes right away"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "deg.jsonl")
	msg, err := runData(t, "degenerate", "-o", out, "--kinds", "loop", pairs)
	if err != nil || !strings.Contains(msg, "1 pairs") {
		t.Fatalf("degenerate: %v: %s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct{ Chosen, Rejected, Prompt string }
	if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil || rec.Chosen == rec.Rejected || rec.Prompt != "" {
		t.Fatalf("degenerate pair: %v: %s", err, b)
	}
	msg, err = runData(t, "degenerate", "-o", out, "--kinds", "stutter", samples)
	if err != nil || !strings.Contains(msg, "1 pairs") {
		t.Fatalf("degenerate on samples: %v: %s", err, msg)
	}
	if b, _ = os.ReadFile(out); !strings.Contains(string(b), `"prompt":"My friend asked me"`) || !strings.Contains(string(b), `"rejected":" to`) {
		t.Fatalf("the sample's prompt was not kept: %s", b)
	}
	if _, err := runData(t, "degenerate", "-o", out, "--kinds", "mumble", pairs); err == nil || !strings.Contains(err.Error(), "mumble") {
		t.Fatalf("unknown kind: %v", err)
	}
	short := filepath.Join(dir, "short.jsonl")
	os.WriteFile(short, []byte(`{"chosen": "too short", "rejected": "also short"}`+"\n"), 0o644)
	if _, err := runData(t, "degenerate", "-o", out, short); err == nil || !strings.Contains(err.Error(), "no text of 4 words") {
		t.Fatalf("all too short: %v", err)
	}
}

// TestDataRepetition: warm data repetition gives the mean of data.Repetition
// and data.StemRepetition over a file's responses, and names a bad line.
func TestDataRepetition(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "samples.jsonl")
	// Words: 0 and 1/4 (library again); stems: 0 and 2/4 (librarian and
	// library again share "libra"; "libru" is new).
	lines := `{"prompt":"p","response":" I walked to the park."}` + "\n\n" +
		`{"response":" library librarian librule library"}` + "\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runData(t, "repetition", "--json", path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []repetitionRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("%s: %v", out, err)
	}
	r := rows[0]
	if r.Responses != 2 || r.Words != 0.125 || r.Stems != 0.25 || r.WordsSE == 0 {
		t.Errorf("%+v, want 2 responses, words 0.125, stems 0.25", r)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"response":" a"}`+"\n"+`{"text":"b"}`+"\n"), 0o644)
	if _, err := runData(t, "repetition", bad); err == nil || !strings.Contains(err.Error(), "bad.jsonl:2: no \"response\"") {
		t.Errorf("a line without a response: %v", err)
	}
}
