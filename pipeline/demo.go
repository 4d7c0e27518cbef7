package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/train"
)

// DemoOptions sets up `warm demo`: the whole pipeline on the synthetic task.
type DemoOptions struct {
	// Dir receives everything (data/, base/, sft/, sft.steps/, rm/,
	// demo.json).
	Dir     string
	Replace bool
	Seed    uint64
	// Scale multiplies every step count (1 is the documented demo; the
	// tests run a tiny fraction).
	Scale float64
	// Task, when set, replaces the default synthetic task configuration
	// (its Seed is still taken from Seed).
	Task     *synth.Config
	Progress Progress
	Log      *slog.Logger
}

// DemoResult gathers what the demo produced.
type DemoResult struct {
	Dir       string        `json:"dir"`
	Base      string        `json:"base"`
	SFT       string        `json:"sft"`
	Snapshots []string      `json:"snapshots"`
	RM        string        `json:"rm"`
	ValLoss   float64       `json:"pretrain_val_loss"`
	ProbeAcc  float64       `json:"probe_train_accuracy"`
	Eval      []SetResult   `json:"eval"`
	Stages    []StageTime   `json:"stages"`
	Wall      time.Duration `json:"wall_ns"`
}

// StageTime is the wall time of one stage.
type StageTime struct {
	Stage string        `json:"stage"`
	Wall  time.Duration `json:"wall_ns"`
}

// DemoShape is the model the demo trains.
var DemoShape = Shape{D: 128, Layers: 2, Heads: 4, Context: 96}

// Demo generates the synthetic task, trains a tokenizer and a base model,
// fine-tunes it (with snapshots), trains one reward model from the SFT
// model with a linear-probed head, and evaluates it in distribution and
// out of distribution.
func Demo(ctx context.Context, o DemoOptions) (*DemoResult, error) {
	start := time.Now()
	if o.Scale <= 0 {
		o.Scale = 1
	}
	steps := func(n int) int { return max(int(float64(n)*o.Scale+0.5), 2) }
	if err := checkOut(o.Dir, o.Replace); err != nil {
		return nil, err
	}
	if o.Replace {
		if err := os.RemoveAll(o.Dir); err != nil {
			return nil, err
		}
	}
	res := &DemoResult{Dir: o.Dir}
	stage := func(name string, t0 time.Time) {
		res.Stages = append(res.Stages, StageTime{name, time.Since(t0)})
		Logger(o.Log).Info(name+" done", "wall", time.Since(t0).Round(100*time.Millisecond))
	}

	t0 := time.Now()
	scfg := synth.DefaultConfig()
	if o.Task != nil {
		scfg = *o.Task
	}
	scfg.Seed = o.Seed
	task, err := synth.Generate(ctx, scfg)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(o.Dir, "data")
	if err := task.WriteDir(dataDir); err != nil {
		return nil, err
	}
	Logger(o.Log).Info("data: synthetic task", "dir", dataDir, "train", len(task.Train.Pairs), "test", len(task.Test.Pairs),
		"ood_dev", len(task.OODDev.Pairs), "ood_test", len(task.OODTest.Pairs))
	stage("data", t0)

	t0 = time.Now()
	res.Base = filepath.Join(o.Dir, "base")
	// scaled is a preset with the demo's scale and seed.
	scaled := func(c train.Config) train.Config {
		c.Steps, c.Seed, c.DataSeed = steps(c.Steps), o.Seed, o.Seed
		return c
	}
	pc := scaled(DemoPretrainConfig())
	pre, err := Pretrain(ctx, PretrainOptions{
		Out: res.Base, Docs: task.Corpus, VocabSize: 1024, Shape: DemoShape, InitSeed: o.Seed,
		ValFrac: 0.02, Train: pc, Progress: o.Progress, Log: o.Log,
	})
	if err != nil {
		return nil, err
	}
	res.ValLoss = pre.ValLoss
	stage("pretrain", t0)

	t0 = time.Now()
	res.SFT = filepath.Join(o.Dir, "sft")
	sc := scaled(DemoSFTConfig())
	s3 := sc.Steps
	sft, err := SFT(ctx, SFTOptions{
		Out: res.SFT, Init: res.Base, Examples: task.SFT, SaveAt: uniqueSorted(s3/3, 2*s3/3, s3),
		Train: sc, Progress: o.Progress, Log: o.Log,
	})
	if err != nil {
		return nil, err
	}
	res.Snapshots = sft.Snapshots
	stage("sft", t0)

	t0 = time.Now()
	res.RM = filepath.Join(o.Dir, "rm")
	rc := scaled(DemoRMConfig())
	rm, err := TrainRM(ctx, RMOptions{
		Out: res.RM, Init: res.SFT, Pairs: task.Train.Pairs, Probe: train.DefaultProbe(), Train: rc,
		Eval: []PairSet{
			{"train", task.Train.Pairs[:min(2000, len(task.Train.Pairs))]},
			{"test (ID)", task.Test.Pairs}, {"ood_dev", task.OODDev.Pairs}, {"ood_test", task.OODTest.Pairs},
		},
		Progress: o.Progress, Log: o.Log,
	})
	if err != nil {
		return nil, err
	}
	res.ProbeAcc, res.Eval = rm.ProbeAcc, rm.Eval
	stage("reward model", t0)
	res.Wall = time.Since(start)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicdir.WriteFile(filepath.Join(o.Dir, "demo.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	return res, nil
}

func uniqueSorted(xs ...int) []int {
	var out []int
	for _, x := range xs {
		if x >= 1 && (len(out) == 0 || x > out[len(out)-1]) {
			out = append(out, x)
		}
	}
	return out
}
