package policy

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/tokenizer"
)

// fixture is a tiny synthetic task, tokenizer, policy and reward models,
// built once per test binary.
type fixture struct {
	task    *synth.Task
	tok     *tokenizer.Tokenizer
	prompts []string
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
)

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		ctx := context.Background()
		cfg := synth.DefaultConfig()
		cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 64, 16, 16, 16
		cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 24, 16, 20_000
		task, err := synth.Generate(ctx, cfg)
		if err != nil {
			fixErr = err
			return
		}
		tok, err := tokenizer.Train(ctx, slices.Values(task.Corpus), tokenizer.TrainConfig{VocabSize: 300})
		if err != nil {
			fixErr = err
			return
		}
		f := &fixture{task: task, tok: tok}
		for _, e := range task.Prompts {
			f.prompts = append(f.prompts, e.Prompt)
		}
		fix = f
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return fix
}

// tinyModel is a random GPT of width 16 (context 64).
func (f *fixture) tinyModel(t testing.TB, reward bool, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{VocabSize: f.tok.VocabSize(), NPositions: 64, NEmbd: 16, NLayer: 1, NHead: 2, PadID: f.tok.Pad(), RewardHead: reward})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(seed)
	return m
}

func (f *fixture) policy(t *testing.T) *Policy {
	return NewPolicy("tiny-sft", f.tinyModel(t, false, 1), f.tok)
}

func (f *fixture) rm(t *testing.T, name string, seed uint64) *RM {
	t.Helper()
	rm, err := NewRM(name, f.tinyModel(t, true, seed), f.tok)
	if err != nil {
		t.Fatal(err)
	}
	return rm
}

func tinySampling() sample.Config {
	c := sample.DefaultConfig()
	c.MaxTokens, c.BatchSize, c.Seed = 10, 16, 3
	return c
}

// lowIDs rewards the fraction of response tokens whose id is in the lower
// half of the vocabulary: a reward a random policy varies on and a few
// policy-gradient steps can raise.
type lowIDs struct{ v int }

func (lowIDs) Name() string { return "low-ids" }

func (r lowIDs) Score(_ context.Context, b *Batch) ([]float64, error) {
	out := make([]float64, len(b.Items))
	for i, it := range b.Items {
		if len(it.Response) == 0 {
			continue
		}
		for _, t := range it.Response {
			if int(t) < r.v/2 {
				out[i]++
			}
		}
		out[i] /= float64(len(it.Response))
	}
	return out, nil
}
