package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/train"
)

// TestSameSeedSameBits runs pretrain → SFT → RM twice with the same seeds
// (the second time on another number of threads) and requires
// byte-identical checkpoint files.
func TestSameSeedSameBits(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 128, 16, 16, 16
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 4, 64, 40_000
	task, err := synth.Generate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Checkpoints record the paths they were made from, so both runs use
	// the same relative paths, each in its own directory.
	run := func(dir string) []string {
		t.Chdir(dir)
		ctx := context.Background()
		tc := train.DefaultConfig()
		tc.Steps, tc.BatchSize, tc.Warmup = 6, 8, 2
		tc.Seed, tc.DataSeed = 5, 6
		shape := Shape{D: 32, Layers: 2, Heads: 2, Context: 96}
		drop := float32(0.1)
		base, sft, rm := "base", "sft", "rm"
		if _, err := Pretrain(ctx, PretrainOptions{Out: base, Docs: task.Corpus, VocabSize: 300, Shape: shape, Dropout: drop, InitSeed: 9, Train: tc}); err != nil {
			t.Fatal(err)
		}
		if _, err := SFT(ctx, SFTOptions{Out: sft, Init: base, Examples: task.SFT, Train: tc}); err != nil {
			t.Fatal(err)
		}
		if _, err := TrainRM(ctx, RMOptions{Out: rm, Init: sft, Pairs: task.Train.Pairs, CorruptRate: 0.25, CorruptSeed: 3, Probe: train.ProbeConfig{Steps: 20, LR: 0.05}, Train: tc}); err != nil {
			t.Fatal(err)
		}
		return []string{filepath.Join(dir, base), filepath.Join(dir, sft), filepath.Join(dir, rm)}
	}
	a := run(t.TempDir())
	prev := kernels.SetThreads(1)
	b := run(t.TempDir())
	kernels.SetThreads(prev)
	for i := range a {
		for _, f := range []string{safetensors.SingleFileName, "config.json", "tokenizer.json"} {
			x, err := os.ReadFile(filepath.Join(a[i], f))
			if err != nil {
				t.Fatal(err)
			}
			y, err := os.ReadFile(filepath.Join(b[i], f))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Errorf("%s/%s differs between two runs with the same seeds", filepath.Base(a[i]), f)
			}
		}
	}
}
