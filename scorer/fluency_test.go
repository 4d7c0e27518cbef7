package scorer

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
)

// writeGPT2LM writes a tiny GPT-2 language model with a trained tokenizer.
func writeGPT2LM(t *testing.T, positions int) string {
	t.Helper()
	tok, err := tokenizer.Train(context.Background(), slices.Values([]string{"a dog ate the bone", "the cat sat on the mat", "i found money in the park"}),
		tokenizer.TrainConfig{VocabSize: 300, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: positions, NEmbd: 24, NLayer: 2, NHead: 2, PadID: tok.Pad()})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(5)
	dir := filepath.Join(t.TempDir(), "lm")
	if err := checkpoint.Save(dir, &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleBase}}, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bruteFluency recomputes a judge's score without its decoder: each
// response token's log-probability from NextLogits over the whole prefix
// (every position recomputed, no KV cache).
func bruteFluency(t *testing.T, f *Fluency, prompt, response string) float64 {
	t.Helper()
	ctx, resp, err := f.encode(prompt, response)
	if err != nil {
		t.Fatal(err)
	}
	var s float64
	for i, id := range resp {
		seq := append(slices.Clone(ctx), resp[:i]...)
		logits, err := f.LM.Model.NextLogits([][]int32{seq})
		if err != nil {
			t.Fatal(err)
		}
		s += logProb(logits, int(id))
	}
	return s / float64(len(resp))
}

// TestFluencyMatchesPrefixes: the judge's batched, cached decoding gives
// each item the mean log-probability that recomputing every prefix gives,
// for GPT-2 and a Llama-family language model, with ragged prompts and
// responses side by side in one batch and an empty prompt.
func TestFluencyMatchesPrefixes(t *testing.T) {
	llamaDir := filepath.Join(t.TempDir(), "qwen2")
	if err := llamatest.Write(llamaDir, llamatest.Options{Family: "qwen2", CausalLM: true, Vocab: 700, Tokenizer: "../tokenizer/testdata/llama3_bpe.json", Seed: 4}); err != nil {
		t.Fatal(err)
	}
	prompts := []string{"the cat sat", "a dog", "", "i found money in the park and"}
	resps := []string{" on the mat", " ate the bone the bone the bone", " the cat", " a"}
	for _, dir := range []string{writeGPT2LM(t, 64), llamaDir} {
		f, err := LoadFluency(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Score(context.Background(), prompts, resps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range prompts {
			want := bruteFluency(t, f, prompts[i], resps[i])
			if math.Abs(got[i]-want) > 1e-5 || got[i] >= 0 {
				t.Errorf("%s item %d: fluency %.7f, prefixes give %.7f", f.LM.Family, i, got[i], want)
			}
		}
		// One at a time: the same scores.
		f.BatchSize = 1
		one, err := f.Score(context.Background(), prompts, resps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range one {
			if math.Abs(one[i]-got[i]) > 1e-5 {
				t.Errorf("%s item %d: %.7f alone, %.7f in a batch", f.LM.Family, i, one[i], got[i])
			}
		}
	}
}

// TestFluencyCutsFromTheLeft: a pair longer than the context is cut from
// the left, ending with EOS; a batch whose rows would not fit side by side
// in a decoder is scored row by row (the Llama family), with the scores
// that recomputing every prefix gives.
func TestFluencyCutsFromTheLeft(t *testing.T) {
	llamaDir := filepath.Join(t.TempDir(), "llama")
	if err := llamatest.Write(llamaDir, llamatest.Options{Family: "llama", CausalLM: true, Vocab: 700, Tokenizer: "../tokenizer/testdata/llama3_bpe.json", Seed: 6}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir     string
		repeats int
	}{{writeGPT2LM(t, 16), 4}, {llamaDir, 60}} {
		f, err := LoadFluency(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		maxLen := f.LM.Model.MaxLen()
		long := strings.Repeat(" the cat sat on the mat", c.repeats)
		ctx, resp, err := f.encode("a dog ate the bone", long)
		if err != nil {
			t.Fatal(err)
		}
		if len(ctx)+len(resp) != maxLen || len(ctx) != 1 || resp[len(resp)-1] != int32(f.LM.EOS) {
			t.Fatalf("%s: cut to %d context + %d response tokens, want 1 + %d ending with EOS", f.LM.Family, len(ctx), len(resp), maxLen-1)
		}
		prompts := []string{"a dog ate the bone and the cat", "i"}
		resps := []string{" sat", long}
		got, err := f.Score(context.Background(), prompts, resps)
		if err != nil {
			t.Fatal(err)
		}
		for i := range prompts {
			if want := bruteFluency(t, f, prompts[i], resps[i]); math.Abs(got[i]-want) > 1e-5 {
				t.Errorf("%s item %d: %.7f, prefixes give %.7f", f.LM.Family, i, got[i], want)
			}
		}
	}
}

// TestFluencyBadInput: what cannot be judged is named.
func TestFluencyBadInput(t *testing.T) {
	f, err := LoadFluency(writeGPT2LM(t, 32))
	if err != nil {
		t.Fatal(err)
	}
	// An empty response is judged by its end alone: log p(EOS | prompt).
	s, err := f.Score(context.Background(), []string{"a dog", "the cat"}, []string{" ate", ""})
	if err != nil {
		t.Fatal(err)
	}
	c, _, _ := f.encode("the cat", "")
	logits, err := f.LM.Model.NextLogits([][]int32{c})
	if err != nil {
		t.Fatal(err)
	}
	if want := logProb(logits, f.LM.EOS); math.Abs(s[1]-want) > 1e-5 {
		t.Errorf("empty response: %.7f, want log p(EOS) %.7f", s[1], want)
	}
	f.LM.EOS = -1
	_, _, err = f.ScorePairs(context.Background(), []data.Pair{{ID: 7, Prompt: "a", Chosen: " dog", Rejected: ""}})
	if err == nil || !strings.Contains(err.Error(), "pair 7, rejected: empty response") {
		t.Errorf("empty rejected response without an EOS: %v", err)
	}
	if _, err := LoadFluency(writeRM(t, "qwen2", "../tokenizer/testdata/llama3_bpe.json")); err == nil || !strings.Contains(err.Error(), "not a language model") {
		t.Errorf("a reward model as the judge: %v", err)
	}
}
