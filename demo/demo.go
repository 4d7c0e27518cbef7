// Package demo is `warm demo`: WARM end to end on the embedded synthetic
// task, from nothing, in a few minutes on a CPU. It generates the task in a
// regime where weight averaging has something to do (noisy labels, no
// length shortcut shared by every member), pre-trains a small base,
// fine-tunes it with snapshots (the Baklava inits), trains M diverse reward
// models from one linear-probed head, and compares the members, their weight
// average WA(M) and their prediction ensemble ENS(M) in distribution, out of
// distribution and on the flipped training labels, with the cost of each;
// then best-of-N from the SFT policy under the best member, ENS(M) and
// WA(M), judged by the task's gold reward. It writes the experiment's report,
// best-of-N's, and demo.html / demo.md, which open on what came out, good or
// bad for WARM.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/experiment"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/sweep"
)

// Options set up the demo.
type Options struct {
	// Dir receives everything: the experiment's stages (data/, base/, sft/,
	// sweep/, report/), bon/, demo.html, demo.md.
	Dir     string
	Replace bool
	Seed    uint64
	// Scale multiplies every step count (1: the documented demo; tests run
	// a tiny fraction).
	Scale float64
	// M is the number of members (default DefaultM).
	M int
	// Task, when set, replaces the demo's task (Regime); its Seed is taken
	// from Seed.
	Task *synth.Config
	// Prompts and MaxN size best-of-N (defaults DefaultPrompts,
	// DefaultMaxN).
	Prompts, MaxN int
	Progress      pipeline.Progress
	Log           *slog.Logger
}

// The demo's defaults.
const (
	DefaultM       = 4
	DefaultPrompts = 64
	DefaultMaxN    = 16
	// CorruptRate is the fraction of training labels flipped, the same
	// pairs for every member (the paper's 25% and more).
	CorruptRate = 0.3
	// MemberSteps is each member's training length at scale 1: with 4,000
	// training pairs, batch 32, eight epochs, enough to memorise flipped
	// labels.
	MemberSteps = 1000
)

// Regime is the demo's synthetic task: the default task with 4,000
// training pairs in which the longer response is the better one half of the
// time (LongerBetter 0.5), so no member can lean on the length shortcut
// that every member shares in the default task (where WA cannot help, as
// the paper warns). Noise comes from the labeller (Bradley-Terry, about 11%
// of labels) and from the CorruptRate flips.
func Regime() synth.Config {
	c := synth.DefaultConfig()
	c.TrainPairs = 4000
	c.LongerBetter = 0.5
	return c
}

// Result is what the demo produced.
type Result struct {
	Dir        string
	Experiment *experiment.Results
	BoN        *policy.BoNResult
	// Report, BoNDir and HTML are where the reports went.
	Report, BoNDir, HTML string
	M                    int
	// Notes describe the task and the regime.
	Notes  []string
	Stages []Stage
	Wall   time.Duration
}

// Stage is the wall time of one part of the demo.
type Stage struct {
	Name string
	Wall time.Duration
}

// Run runs the demo. Stages whose outputs exist in Dir are reused unless
// Replace is set, in which case Dir is removed first.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.Dir == "" {
		return nil, errors.New("demo: no output directory")
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.M == 0 {
		o.M = DefaultM
	}
	if o.M < 2 {
		return nil, fmt.Errorf("demo: M = %d: weight averaging needs at least 2 members", o.M)
	}
	if o.Prompts <= 0 {
		o.Prompts = DefaultPrompts
	}
	if o.MaxN <= 0 {
		o.MaxN = DefaultMaxN
	}
	if o.Replace {
		if err := os.RemoveAll(o.Dir); err != nil {
			return nil, err
		}
	} else if _, err := os.Stat(filepath.Join(o.Dir, "demo", "demo.html")); err == nil {
		return nil, fmt.Errorf("demo: %s holds a finished demo (--force replaces it)", o.Dir)
	}
	cfg := Regime()
	if o.Task != nil {
		cfg = *o.Task
	}
	res := &Result{Dir: o.Dir, M: o.M, Report: filepath.Join(o.Dir, "report"), BoNDir: filepath.Join(o.Dir, "bon"), HTML: filepath.Join(o.Dir, "demo", "demo.html")}
	t0 := time.Now()
	task, err := experiment.Synthetic(ctx, o.Dir, o.Seed, &cfg)
	if err != nil {
		return nil, err
	}
	task.Member.Steps = MemberSteps
	task.Notes = append(task.Notes, fmt.Sprintf("The demo's regime: %d training pairs in which the longer response is the better one %.0f%% of the time (no shared length shortcut), %.0f%% of training labels flipped, %d members of %d steps at scale %g.",
		cfg.TrainPairs, 100*cfg.LongerBetter, 100*CorruptRate, o.M, MemberSteps, o.Scale))
	res.Notes = task.Notes
	exp, err := experiment.Run(ctx, task, experiment.RunOptions{
		Dir: o.Dir, Seed: o.Seed, M: o.M, CorruptRate: CorruptRate, Scale: o.Scale,
		Eval:    experiment.EvalOptions{MaxPairs: 1000, LMCPairs: 200},
		Command: "warm demo", Progress: o.Progress, Log: o.Log,
	})
	if err != nil {
		return nil, err
	}
	res.Experiment = exp
	res.Stages = append(res.Stages, Stage{"data, base, SFT, members, evaluation", time.Since(t0)})

	t0 = time.Now()
	if res.BoN, err = bestOfN(ctx, o, res); err != nil {
		return nil, err
	}
	res.Stages = append(res.Stages, Stage{"best-of-N", time.Since(t0)})
	res.Wall = time.Since(start)
	if err := writeReport(res); err != nil {
		return nil, err
	}
	return res, nil
}

// bestOfN samples from the SFT policy and picks under the best member,
// ENS(M) and WA(M), judged by the gold reward.
func bestOfN(ctx context.Context, o Options, res *Result) (*policy.BoNResult, error) {
	manifest := filepath.Join(o.Dir, "sweep", "manifest.json")
	rs, err := policy.OpenRewards(ctx, manifest, policy.RankOptions{Results: filepath.Join(res.Report, "results.json"), Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("demo: best-of-N: %w", err)
	}
	defer rs.Close()
	specs := []string{"best", fmt.Sprintf("ens:%d", o.M), fmt.Sprintf("warm:%d", o.M)}
	bo := policy.BoNOptions{MaxN: o.MaxN, RefSamples: 8, Sample: sample.DefaultConfig(), Log: o.Log}
	bo.Sample.MaxTokens = 40
	bo.Sample.Seed = o.Seed
	if err := rs.BoNSpecs(&bo, specs, o.M, "gold", nil); err != nil {
		return nil, fmt.Errorf("demo: best-of-N: %w", err)
	}
	ex, _, err := data.LoadExamples(filepath.Join(o.Dir, "data", synth.FilePrompts), data.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("demo: best-of-N: %w", err)
	}
	for _, e := range ex[:min(o.Prompts, len(ex))] {
		bo.Prompts = append(bo.Prompts, e.Prompt)
	}
	sft := filepath.Join(o.Dir, "sft")
	p, err := policy.LoadPolicy(sft)
	if err != nil {
		return nil, fmt.Errorf("demo: best-of-N: %w", err)
	}
	bon, err := policy.BestOfN(ctx, p, bo)
	if err != nil {
		return nil, fmt.Errorf("demo: best-of-N: %w", err)
	}
	bon.Policy = sft
	if err := policy.WriteBoN(res.BoNDir, bon, true); err != nil {
		return nil, err
	}
	return bon, nil
}

// Names of the models the demo compares.
func (r *Result) names() (wa, ens string) { return sweep.WAName(r.M), sweep.ENSName(r.M) }
