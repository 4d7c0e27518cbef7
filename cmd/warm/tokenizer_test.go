package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runTokenizerCmd runs `warm tokenizer ARGS...` on a fresh command tree.
func runTokenizerCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newTokenizerCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestTokenizerCommands(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	text := strings.Repeat("the cat sat on the mat\nthe dog sat on the log\n", 50)
	if err := os.WriteFile(corpus, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := filepath.Join(dir, "tokenizer.json")
	out, progress, err := runTokenizerCmd(t, "", "train", "--vocab-size", "270", "-o", tok, corpus)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote "+tok+": 270 tokens") || !strings.Contains(progress, "merging") {
		t.Fatalf("train output %q, progress %q", out, progress)
	}

	ids, _, err := runTokenizerCmd(t, "", "encode", "-t", tok, "the cat<|endoftext|>")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(ids, " 256\n") {
		t.Fatalf("encode printed %q, want the EOS id 256 last", ids)
	}
	back, _, err := runTokenizerCmd(t, ids, "encode", "-t", tok, "--decode")
	if err != nil {
		t.Fatal(err)
	}
	if back != "the cat<|endoftext|>" {
		t.Fatalf("decode gave %q", back)
	}
	// Standard input is taken whole, newline included.
	ids, _, err = runTokenizerCmd(t, "the dog\n", "encode", "-t", tok)
	if err != nil {
		t.Fatal(err)
	}
	if back, _, _ := runTokenizerCmd(t, "", append([]string{"encode", "-t", tok, "-d"}, strings.Fields(ids)...)...); back != "the dog\n" {
		t.Fatalf("stdin round trip gave %q", back)
	}

	if _, _, err := runTokenizerCmd(t, "", "encode", "-t", tok, "-d", "1", "x"); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("bad id: err = %v", err)
	}
	if _, _, err := runTokenizerCmd(t, "", "encode", "-t", filepath.Join(dir, "none.json"), "x"); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Fatalf("missing tokenizer: err = %v", err)
	}
}
