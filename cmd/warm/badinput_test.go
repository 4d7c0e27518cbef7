package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

// buildWarm compiles the binary once for the tests that check exit codes.
func buildWarm(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "warm")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tinyCheckpoint saves a small random base model with a tokenizer.
func tinyCheckpoint(t *testing.T, dir string) {
	t.Helper()
	docs := []string{"the cat sat on the mat", "a dog ate the bone", "i found money on the street"}
	tok, err := tokenizer.Train(context.Background(), slices.Values(docs), tokenizer.TrainConfig{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 32, NEmbd: 16, NLayer: 1, NHead: 2, PadID: tok.Pad()})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(1)
	if err := checkpoint.Save(dir, &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleBase}}, false); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputs runs the binary on malformed inputs: each must fail with a
// message naming the problem's place, exit non-zero, and leave no output.
func TestBadInputs(t *testing.T) {
	bin := buildWarm(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	tinyCheckpoint(t, base)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badJSONL := write("bad.jsonl", "{\"chosen\":\"a cat\",\"rejected\":\"a dog\"}\n{\"chosen\": oops}\n")
	oneCol := write("onecol.csv", "\"I found money.\",\"I lost money.\"\nI went home.\n")
	good := write("good.jsonl", "{\"prompt\":\"q\",\"chosen\":\" a cat\",\"rejected\":\" a dog\"}\n")

	// A copy of the base whose weights file is cut short.
	trunc := filepath.Join(dir, "trunc")
	copyTree(t, base, trunc)
	st := filepath.Join(trunc, safetensors.SingleFileName)
	raw, _ := os.ReadFile(st)
	os.WriteFile(st, raw[:len(raw)-100], 0o644)

	// A copy whose header declares overlapping offsets.
	overlap := filepath.Join(dir, "overlap")
	copyTree(t, base, overlap)
	hdr := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.WriteString(hdr)
	b.Write(make([]byte, 12))
	os.WriteFile(filepath.Join(overlap, safetensors.SingleFileName), b.Bytes(), 0o644)

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"malformed JSONL line", []string{"train", "-o", "OUT", "--init", base, "--steps", "2", badJSONL}, "bad.jsonl:2"},
		{"CSV with one column", []string{"train", "-o", "OUT", "--init", base, "--steps", "2", oneCol}, "onecol.csv:2"},
		{"truncated safetensors", []string{"train", "-o", "OUT", "--init", trunc, "--steps", "2", good}, "truncated"},
		{"overlapping offsets", []string{"train", "-o", "OUT", "--init", overlap, "--steps", "2", good}, `tensor "b": data_offsets [4, 12] overlap tensor "a"`},
		{"eval on truncated", []string{"eval", "--model", trunc, good, "--json", "OUT"}, "model.safetensors"},
		{"missing data file", []string{"train", "-o", "OUT", "--init", base, filepath.Join(dir, "nope.jsonl")}, "nope.jsonl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := slices.Clone(c.args)
			for i, a := range args {
				if a == "OUT" {
					args[i] = out
				}
			}
			cmd := exec.Command(bin, args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatal("exit status 0")
			}
			if !strings.Contains(stderr.String(), c.want) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), c.want)
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 0 {
				t.Errorf("left behind: %v", entries)
			}
		})
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
}

// TestZeroSteps saves a random initialisation with --steps 0 (the baseline
// of a pre-trained vs random-init comparison) without crashing.
func TestZeroSteps(t *testing.T) {
	bin := buildWarm(t)
	dir := t.TempDir()
	corpus := filepath.Join(dir, "c.txt")
	os.WriteFile(corpus, []byte("the cat sat on the mat\na dog ate the bone\n"), 0o644)
	out, err := exec.Command(bin, "pretrain", "-o", filepath.Join(dir, "rand"), "--steps", "0", "--val-frac", "0", "--vocab-size", "280",
		"--d", "16", "--layers", "1", "--heads", "2", "--ctx", "8", corpus).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := checkpoint.Load(filepath.Join(dir, "rand")); err != nil {
		t.Fatal(err)
	}
}
