package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

// SyntheticOptions sets up `warm experiment --task synthetic`: the whole
// WARM protocol on the embedded task.
type SyntheticOptions struct {
	Dir  string
	Seed uint64
	// M is the number of sweep members (default 6).
	M int
	// CorruptRate flips that fraction of training labels (paper: 25%).
	CorruptRate float64
	// Scale multiplies every step count (1: the documented protocol).
	Scale float64
	// Task overrides the task configuration (tests).
	Task *synth.Config
	// Eval overrides the evaluation options.
	Eval     Options
	Workers  int
	Command  string
	Progress pipeline.Progress
	Log      pipeline.Logf
}

// Synthetic runs the protocol: task, base, SFT with three snapshots (the
// Baklava inits), a sweep of M members with LMC pairs, evaluation and the
// report in Dir/report. Stages whose outputs exist are not redone, so an
// interrupted experiment continues where it stopped.
func Synthetic(ctx context.Context, o SyntheticOptions) (*Results, error) {
	if o.Dir == "" {
		return nil, errors.New("experiment: no output directory")
	}
	if o.M == 0 {
		o.M = 6
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	steps := func(n int) int { return max(int(float64(n)*o.Scale+0.5), 2) }
	logf := func(format string, args ...any) {
		if o.Log != nil {
			o.Log(format, args...)
		}
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()

	scfg := synth.DefaultConfig()
	if o.Task != nil {
		scfg = *o.Task
	}
	scfg.Seed, scfg.CorruptRate = o.Seed, 0 // corruption is the sweep's, applied to train.jsonl
	dataDir := filepath.Join(o.Dir, "data")
	task, err := synth.Generate(ctx, scfg)
	if err != nil {
		return nil, err
	}
	if !exists(dataDir) {
		if err := task.WriteDir(dataDir); err != nil {
			return nil, err
		}
	}
	base := filepath.Join(o.Dir, "base")
	if !exists(base) {
		pc := train.DefaultConfig()
		pc.Steps, pc.BatchSize, pc.LR, pc.MinLR, pc.Warmup, pc.Seed, pc.DataSeed = steps(1200), 32, 2e-3, 2e-4, 60, o.Seed, o.Seed
		if _, err := pipeline.Pretrain(ctx, pipeline.PretrainOptions{Out: base, Docs: task.Corpus, VocabSize: 1024, Shape: pipeline.DemoShape,
			InitSeed: o.Seed, ValFrac: 0.02, Train: pc, Resume: pipeline.Resume{Resume: true, Every: 200}, Progress: o.Progress, Log: o.Log}); err != nil {
			return nil, err
		}
	}
	sft := filepath.Join(o.Dir, "sft")
	sc := train.DefaultConfig()
	sc.Steps, sc.BatchSize, sc.LR, sc.MinLR, sc.Warmup, sc.Seed, sc.DataSeed = steps(300), 32, 5e-4, 5e-5, 20, o.Seed, o.Seed
	saveAt := []int{max(sc.Steps/3, 1), max(2*sc.Steps/3, 1), sc.Steps}
	if !exists(sft) {
		if _, err := pipeline.SFT(ctx, pipeline.SFTOptions{Out: sft, Init: base, Examples: task.SFT, SaveAt: saveAt, Train: sc,
			Resume: pipeline.Resume{Resume: true, Every: 200}, Progress: o.Progress, Log: o.Log}); err != nil {
			return nil, err
		}
	}
	var inits []string
	for _, s := range saveAt {
		inits = append(inits, filepath.Join("..", "sft.steps", fmt.Sprintf("step-%06d", s)))
	}

	sweepDir := filepath.Join(o.Dir, "sweep")
	manPath := filepath.Join(sweepDir, "manifest.json")
	man := &sweep.Manifest{}
	if exists(manPath) {
		if man, err = sweep.Load(manPath); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(sweepDir, 0o755); err != nil {
			return nil, err
		}
		mc := sweep.DefaultConfig()
		mc.Steps = steps(mc.Steps)
		mc.Warmup = min(mc.Warmup, mc.Steps/10)
		*man = sweep.Manifest{
			Version: sweep.Version, Out: "members", Base: "../base", Head: "head", HeadInit: inits[len(inits)-1],
			Train: "../data/" + synth.FileTrain, CorruptRate: o.CorruptRate, CorruptSeed: o.Seed, MaxLen: 0,
			Probe: train.DefaultProbe(), Config: mc,
			Eval: []sweep.EvalSet{
				{Name: "test", Path: "../data/" + synth.FileTest},
				{Name: "ood_dev", Path: "../data/" + synth.FileOODDev},
				{Name: "ood_test", Path: "../data/" + synth.FileOODTest},
			},
		}
		if err := sweep.Plan(man, sweep.PlanOptions{M: o.M, Inits: inits, LRs: []float64{3e-5, 1e-4, 3e-4}, Dropouts: []float32{0, 0.1}, Seed: o.Seed, LMC: true}); err != nil {
			return nil, err
		}
		if err := man.Save(manPath); err != nil {
			return nil, err
		}
	}
	if _, err := sweep.Run(ctx, man, sweep.RunOptions{Workers: o.Workers, Resume: true, StateEvery: 200, Progress: o.Progress, Log: o.Log}); err != nil {
		return nil, err
	}
	sets, err := LoadSets(man, o.Eval.MaxPairs, o.Seed)
	if err != nil {
		return nil, err
	}
	eo := o.Eval
	eo.Seed = o.Seed
	if eo.Log == nil {
		eo.Log = logf
	}
	res, err := Evaluate(ctx, man, sets, eo)
	if err != nil {
		return nil, err
	}
	res.Manifest = manPath
	info := ReportInfo{
		Title:   fmt.Sprintf("WARM on the synthetic task (M=%d, %.0f%% corrupted labels, seed %d)", o.M, 100*o.CorruptRate, o.Seed),
		Command: o.Command, Machine: fmt.Sprintf("%d CPU threads, %s/%s", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH),
		Notes: []string{fmt.Sprintf("Whole protocol wall time (including any stages reused from an earlier run): %s.", time.Since(start).Round(time.Second))},
	}
	if err := WriteReport(filepath.Join(o.Dir, "report"), info, res, true); err != nil {
		return nil, err
	}
	return res, nil
}

// LoadSets loads the evaluation sets of a manifest: the clean and flipped
// training pairs (corrupted as the members saw them) and the manifest's
// Eval sets, each subsampled to at most maxPairs.
func LoadSets(man *sweep.Manifest, maxPairs int, seed uint64) ([]*Set, error) {
	trainPairs, _, err := data.LoadPairs(man.Path(man.Train), data.LoadOptions{})
	if err != nil {
		return nil, err
	}
	if man.CorruptRate > 0 {
		if trainPairs, err = data.Corrupt(trainPairs, man.CorruptRate, man.CorruptSeed); err != nil {
			return nil, err
		}
	}
	sets := TrainSets(trainPairs, maxPairs, seed)
	for _, e := range man.Eval {
		pairs, _, err := data.LoadPairs(man.Path(e.Path), data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		sets = append(sets, &Set{Name: e.Name, Pairs: subsample(pairs, maxPairs, seed+uint64(len(sets)))})
	}
	return sets, nil
}
