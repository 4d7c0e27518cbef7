package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

// Task is the task-specific part of the protocol: the data of every stage
// and the sizes that suit it. Prepare functions (Synthetic, ETHICS) build
// it, writing its files under the experiment directory.
type Task struct {
	// Title names the task in the report.
	Title string
	// CorpusDocs are the pre-training documents (in memory), CorpusFiles
	// text files (one document a line); either or both.
	CorpusDocs  []string
	CorpusFiles []string
	// SFT are the demonstrations of the SFT stage.
	SFT []data.Example
	// Train is the preference file of the members, Eval the evaluation
	// sets ("ood_dev" ranks members); paths absolute or relative to the
	// current directory.
	Train string
	Eval  []sweep.EvalSet
	// Vocab, Shape and the three configurations size the stages at scale 1.
	Vocab    int
	Shape    pipeline.Shape
	Pretrain train.Config
	SFTCfg   train.Config
	Member   train.Config
	LRs      []float64
	Dropouts []float32
	// MaxLen bounds reward-model sequences (0: the context).
	MaxLen int
	// Notes go into the report.
	Notes []string
}

// RunOptions sets up `warm experiment`.
type RunOptions struct {
	Dir string
	// Seed seeds the base, the SFT model and the evaluation subsamples.
	Seed uint64
	// SweepSeed seeds the sweep (hyper-parameter draws, members' data order
	// and dropout, label corruption); 0 means Seed. A sweep seed other than
	// Seed goes to sweep-sN and report-sN beside the main ones, reusing the
	// base and SFT model.
	SweepSeed uint64
	// M is the number of sweep members (default 6).
	M int
	// CorruptRate flips that fraction of training labels (paper: 25%).
	CorruptRate float64
	// Scale multiplies every step count (1: the documented protocol).
	Scale float64
	// Eval sets up the evaluation.
	Eval EvalOptions
	// Reevaluate redoes an evaluation whose report exists (otherwise the
	// report's results are reused).
	Reevaluate bool
	Workers    int
	Command    string
	Progress   pipeline.Progress
	Log        *slog.Logger
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// relTo expresses path relative to dir when it is relative, so that a
// manifest in dir can name it.
func relTo(dir, path string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	ap, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	return filepath.Rel(ad, ap)
}

// Run runs the protocol on a prepared task: base, SFT with three snapshots
// (the Baklava inits), a sweep of M members with the LMC pairs, the
// evaluation and the report in Dir/report. Stages whose outputs exist are
// reused, so an interrupted experiment continues where it stopped.
func Run(ctx context.Context, task *Task, o RunOptions) (*Results, error) {
	if o.Dir == "" {
		return nil, errors.New("experiment: no output directory")
	}
	if o.M == 0 {
		o.M = 6
	}
	start := time.Now()
	stage := map[string]time.Duration{}
	inits, err := prepareBase(ctx, task, &o, stage)
	if err != nil {
		return nil, err
	}
	ss := o.SweepSeed
	if ss == 0 {
		ss = o.Seed
	}
	sweepDir, reportDir := filepath.Join(o.Dir, "sweep"), filepath.Join(o.Dir, "report")
	if ss != o.Seed {
		sweepDir, reportDir = fmt.Sprintf("%s-s%d", sweepDir, ss), fmt.Sprintf("%s-s%d", reportDir, ss)
	}
	return o.run(ctx, task, inits, study{
		dir: sweepDir, reportDir: reportDir,
		plan: func(man *sweep.Manifest) error {
			man.CorruptSeed = ss
			return sweep.Plan(man, sweep.PlanOptions{M: o.M, Inits: inits, LRs: task.LRs, Dropouts: task.Dropouts, Seed: ss, LMC: true})
		},
		title: fmt.Sprintf("WARM on %s (M=%d, %.0f%% corrupted labels, seed %d, sweep seed %d)", task.Title, o.M, 100*o.CorruptRate, o.Seed, ss),
		notes: task.Notes,
	}, stage, start)
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

// scaled applies the run's scale and seed to a stage configuration.
func (o *RunOptions) scaled(c train.Config) train.Config {
	if o.Scale <= 0 {
		o.Scale = 1
	}
	c.Steps = max(int(float64(c.Steps)*o.Scale+0.5), 2)
	c.Warmup = min(c.Warmup, c.Steps/10)
	c.Seed, c.DataSeed = o.Seed, o.Seed
	return c
}

// prepareBase pre-trains the base and fine-tunes it with three snapshots in
// o.Dir (reusing what exists) and returns the snapshots' paths relative to
// a directory beside them (the Baklava inits, as a manifest in o.Dir/X
// names them).
func prepareBase(ctx context.Context, task *Task, o *RunOptions, stage map[string]time.Duration) ([]string, error) {
	if o.Dir == "" {
		return nil, errors.New("experiment: no output directory")
	}
	t0 := time.Now()
	base := filepath.Join(o.Dir, "base")
	if !exists(base) {
		if _, err := pipeline.Pretrain(ctx, pipeline.PretrainOptions{Out: base, Docs: task.CorpusDocs, Corpus: task.CorpusFiles,
			VocabSize: task.Vocab, Shape: task.Shape, InitSeed: o.Seed, ValFrac: 0.01, Train: o.scaled(task.Pretrain),
			Resume: pipeline.Resume{Resume: true, Every: 200}, Progress: o.Progress, Log: o.Log}); err != nil {
			return nil, err
		}
	}
	stage["pretrain"] = time.Since(t0)
	t0 = time.Now()
	sft := filepath.Join(o.Dir, "sft")
	sc := o.scaled(task.SFTCfg)
	saveAt := []int{max(sc.Steps/3, 1), max(2*sc.Steps/3, 1), sc.Steps}
	if !exists(sft) {
		if _, err := pipeline.SFT(ctx, pipeline.SFTOptions{Out: sft, Init: base, Examples: task.SFT, SaveAt: saveAt, Train: sc,
			MaxLen: task.MaxLen, Resume: pipeline.Resume{Resume: true, Every: 200}, Progress: o.Progress, Log: o.Log}); err != nil {
			return nil, err
		}
	}
	stage["sft"] = time.Since(t0)
	var inits []string
	for _, s := range saveAt {
		inits = append(inits, filepath.Join("..", "sft.steps", fmt.Sprintf("step-%06d", s)))
	}
	return inits, nil
}
