package train

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
)

type fixture struct {
	tok    *tokenizer.Tokenizer
	task   *synth.Task
	stream []int32
	pairs  []data.TokPair
	sft    []data.Seq
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	cfg := synth.DefaultConfig()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 256, 64, 32, 32
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 8, 128, 60_000
	task, err := synth.Generate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Train(ctx, slices.Values(task.Corpus), tokenizer.TrainConfig{VocabSize: 400})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := data.PackTokens(ctx, tok, task.Corpus)
	if err != nil {
		t.Fatal(err)
	}
	pairs, _, err := data.TokenizePairs(ctx, tok, task.Train.Pairs, 96)
	if err != nil {
		t.Fatal(err)
	}
	sft, _, err := data.TokenizeSFT(ctx, tok, task.SFT, 96)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{tok, task, stream, pairs, sft}
}

func (f *fixture) model(t *testing.T, reward bool) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{VocabSize: f.tok.VocabSize(), NPositions: 96, NEmbd: 32, NLayer: 2, NHead: 2, PadID: f.tok.Pad(), RewardHead: reward, ResidPdrop: 0.1, AttnPdrop: 0.1, EmbdPdrop: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(3)
	return m
}

func smallConfig(steps int) Config {
	c := DefaultConfig()
	c.Steps, c.BatchSize, c.Warmup, c.LR, c.MinLR = steps, 8, 2, 3e-3, 3e-4
	return c
}

func TestPretrainLearnsAndIsDeterministic(t *testing.T) {
	f := newFixture(t)
	run := func() (*model.Model, []Stats) {
		m := f.model(t, false)
		step, err := PretrainStep(m, f.stream, 32, 8, 5)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Model: m, Config: smallConfig(30), Kind: "pretrain"}
		hist, err := r.Run(context.Background(), step)
		if err != nil {
			t.Fatal(err)
		}
		return m, hist
	}
	m1, h1 := run()
	m2, h2 := run()
	if !slices.Equal(m1.Flat, m2.Flat) {
		t.Fatal("two runs with the same seeds gave different weights")
	}
	if len(h1) != 30 || h1[29].Loss != h2[29].Loss {
		t.Fatal("histories differ")
	}
	first, last := (h1[0].Loss+h1[1].Loss)/2, (h1[28].Loss+h1[29].Loss)/2
	if !(last < first-0.5) {
		t.Errorf("loss went from %.3f to %.3f: not learning", first, last)
	}
}

// TestResumeBitIdentical interrupts a run after some steps, resumes it from
// the state directory, and compares with an uninterrupted run.
func TestResumeBitIdentical(t *testing.T) {
	f := newFixture(t)
	cfg := smallConfig(12)
	full := f.model(t, true)
	step, _ := RMStep(full, f.pairs, f.tok.Pad(), 8, 9)
	if _, err := (&Runner{Model: full, Config: cfg, Kind: "rm"}).Run(context.Background(), step); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "state")
	m := f.model(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Model: m, Tokenizer: f.tok, Meta: checkpoint.Meta{Role: checkpoint.RoleRM}, Config: cfg, Kind: "rm", StateDir: dir, StateEvery: 4,
		AfterStep: func(done int) error {
			if done == 7 {
				cancel()
			}
			return nil
		}}
	step, _ = RMStep(m, f.pairs, f.tok.Pad(), 8, 9)
	hist, err := r.Run(ctx, step)
	if !errors.Is(err, context.Canceled) || len(hist) != 7 {
		t.Fatalf("interrupted run: %d steps, err %v", len(hist), err)
	}
	// Resume in a fresh model (as a new process would).
	m2 := f.model(t, true)
	m2.InitWeights(99) // must be overwritten by the state
	r2 := &Runner{Model: m2, Tokenizer: f.tok, Config: cfg, Kind: "rm", StateDir: dir, StateEvery: 4}
	step2, _ := RMStep(m2, f.pairs, f.tok.Pad(), 8, 9)
	hist2, err := r2.Run(context.Background(), step2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist2) != 12 {
		t.Fatalf("resumed history has %d steps", len(hist2))
	}
	if !slices.Equal(m2.Flat, full.Flat) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
	// A changed config refuses to resume.
	cfg2 := cfg
	cfg2.LR *= 2
	r3 := &Runner{Model: f.model(t, true), Config: cfg2, Kind: "rm", StateDir: dir}
	step3, _ := RMStep(r3.Model, f.pairs, f.tok.Pad(), 8, 9)
	if _, err := r3.Run(context.Background(), step3); err == nil {
		t.Fatal("resumed with a different config")
	}
}

func TestRMAndProbeLearn(t *testing.T) {
	f := newFixture(t)
	m := f.model(t, true)
	ctx := context.Background()
	// The probe on random features is weak but must fit its training set
	// better than chance, and be deterministic.
	c, r, err := PairFeatures(ctx, m, f.pairs, f.tok.Pad(), 32)
	if err != nil {
		t.Fatal(err)
	}
	w1, acc1, err := FitProbe(ctx, c, r, 32, DefaultProbe())
	if err != nil {
		t.Fatal(err)
	}
	w2, _, _ := FitProbe(ctx, c, r, 32, DefaultProbe())
	if !slices.Equal(w1, w2) {
		t.Fatal("probe not deterministic")
	}
	if acc1 < 0.6 {
		t.Errorf("probe train accuracy %.3f", acc1)
	}
	rm, err := WithRewardHead(m, w1, nil)
	if err != nil {
		t.Fatal(err)
	}
	step, err := RMStep(rm, f.pairs, f.tok.Pad(), 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := smallConfig(60)
	hist, err := (&Runner{Model: rm, Config: cfg, Kind: "rm"}).Run(ctx, step)
	if err != nil {
		t.Fatal(err)
	}
	var early, late float64
	for i := 0; i < 10; i++ {
		early += hist[i].Loss / 10
		late += hist[len(hist)-1-i].Loss / 10
	}
	if !(late < early) {
		t.Errorf("BT loss %.3f -> %.3f", early, late)
	}
}

func TestSFTStep(t *testing.T) {
	f := newFixture(t)
	m := f.model(t, false)
	step, err := SFTStep(m, f.sft, f.tok.Pad(), 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := (&Runner{Model: m, Config: smallConfig(20), Kind: "sft"}).Run(context.Background(), step)
	if err != nil {
		t.Fatal(err)
	}
	if !(hist[19].Loss < hist[0].Loss) {
		t.Errorf("SFT loss %.3f -> %.3f", hist[0].Loss, hist[19].Loss)
	}
	loss, err := LMLoss(context.Background(), m, f.stream, 32, 8, 16)
	if err != nil || loss <= 0 {
		t.Errorf("LMLoss = %v, %v", loss, err)
	}
}
