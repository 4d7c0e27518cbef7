package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sample"
)

// WinRate is the comparison of two policies' samples on the same prompts,
// judged by the control reward.
type WinRate struct {
	// NameA and NameB identify the policies.
	NameA string `json:"a"`
	NameB string `json:"b"`
	Step  int    `json:"step,omitempty"`
	// Rate is the fraction of (prompt, sample) pairs where A's sample has
	// the higher control reward, ties counting one half; SE its standard
	// error over prompts (the samples of a prompt are not independent).
	Rate float64 `json:"win_rate"`
	SE   float64 `json:"se"`
	// Ties is the fraction of exact ties.
	Ties float64 `json:"ties"`
	// ControlA and ControlB are the mean control rewards.
	ControlA float64 `json:"control_a"`
	ControlB float64 `json:"control_b"`
	// RepetitionA and RepetitionB are the mean data.Repetition of the
	// responses: a check on degenerate text that needs no model, read
	// beside the control's verdict.
	RepetitionA float64 `json:"repetition_a"`
	RepetitionB float64 `json:"repetition_b"`
	N           int     `json:"n"`
}

// judged is a policy's samples with their control rewards and repetition.
type judged struct {
	control, repetition []float64
}

// judge samples n responses per prompt from p and scores them with control.
func judge(ctx context.Context, p *Policy, prompts []string, n int, cfg sample.Config, control Reward) (*judged, error) {
	ps, err := p.EncodePrompts(prompts, cfg.MaxTokens)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	ss, err := p.Generate(ctx, ps, n, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	c, err := control.Score(ctx, p.Items(ss))
	if err != nil {
		return nil, fmt.Errorf("%s: control reward: %w", p.Name, err)
	}
	rep := make([]float64, len(ss))
	for i := range ss {
		rep[i] = data.Repetition(ss[i].ResponseText)
	}
	return &judged{control: c, repetition: rep}, nil
}

// compareJudged computes the win rate of a against b (n samples a prompt).
func compareJudged(a, b *judged, n int) WinRate {
	P := len(a.control) / n
	per := make([]float64, P)
	var ties int
	for i := 0; i < P; i++ {
		var w float64
		for j := 0; j < n; j++ {
			k := i*n + j
			w += win(a.control[k], b.control[k])
			if a.control[k] == b.control[k] {
				ties++
			}
		}
		per[i] = w / float64(n)
	}
	r := WinRate{N: len(a.control)}
	r.Rate, r.SE = meanSE(per)
	r.Ties = float64(ties) / float64(len(a.control))
	r.ControlA, _ = meanSE(a.control)
	r.ControlB, _ = meanSE(b.control)
	r.RepetitionA, _ = meanSE(a.repetition)
	r.RepetitionB, _ = meanSE(b.repetition)
	return r
}

// Compare samples n responses per prompt from a and b (the same sampling
// settings and seed) and returns the win rate of a against b under the
// control reward.
func Compare(ctx context.Context, a, b *Policy, prompts []string, n int, cfg sample.Config, control Reward) (WinRate, error) {
	if n < 1 || len(prompts) == 0 {
		return WinRate{}, errors.New("win rate: no prompts or samples")
	}
	ja, err := judge(ctx, a, prompts, n, cfg, control)
	if err != nil {
		return WinRate{}, err
	}
	jb, err := judge(ctx, b, prompts, n, cfg, control)
	if err != nil {
		return WinRate{}, err
	}
	w := compareJudged(ja, jb, n)
	w.NameA, w.NameB = a.Name, b.Name
	return w, nil
}

// RunSteps lists the steps of an RL run's saved checkpoints, ascending.
func RunSteps(run string) ([]int, error) {
	ents, err := os.ReadDir(filepath.Join(run, checkpointsDir))
	if err != nil {
		return nil, fmt.Errorf("RL run %s: %w", run, err)
	}
	var steps []int
	for _, e := range ents {
		s, ok := strings.CutPrefix(e.Name(), "step-")
		if !e.IsDir() || !ok {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			continue
		}
		steps = append(steps, n)
	}
	sort.Ints(steps)
	return steps, nil
}

// RunsTable is the win rate of one RL run's policy against another's at
// matched steps (and of each against the SFT policy).
type RunsTable struct {
	A       string    `json:"a"`
	B       string    `json:"b"`
	Control string    `json:"control"`
	Prompts int       `json:"prompts"`
	Samples int       `json:"samples"`
	Seed    uint64    `json:"seed"`
	Rows    []RunsRow `json:"rows"`
}

// RunsRow is one step of a RunsTable.
type RunsRow struct {
	Step int `json:"step"`
	// AvsB is A's policy at Step against B's; AvsSFT and BvsSFT each against
	// the SFT policy (nil without an SFT policy).
	AvsB   WinRate  `json:"a_vs_b"`
	AvsSFT *WinRate `json:"a_vs_sft,omitempty"`
	BvsSFT *WinRate `json:"b_vs_sft,omitempty"`
}

// CompareRuns compares two RL runs at every step both saved a checkpoint of
// (steps, if given, restricts them). sft, when not nil, adds each policy's
// win rate against the SFT policy.
func CompareRuns(ctx context.Context, runA, runB string, sft *Policy, steps []int, prompts []string, n int, cfg sample.Config, control Reward, log *slog.Logger) (*RunsTable, error) {
	sa, err := RunSteps(runA)
	if err != nil {
		return nil, err
	}
	sb, err := RunSteps(runB)
	if err != nil {
		return nil, err
	}
	inB := map[int]bool{}
	for _, s := range sb {
		inB[s] = true
	}
	want := map[int]bool{}
	for _, s := range steps {
		want[s] = true
	}
	var common []int
	for _, s := range sa {
		if inB[s] && (len(steps) == 0 || want[s]) {
			common = append(common, s)
		}
	}
	if len(common) == 0 {
		return nil, fmt.Errorf("runs %s and %s have no saved step in common", runA, runB)
	}
	t := &RunsTable{A: runA, B: runB, Control: control.Name(), Prompts: len(prompts), Samples: n, Seed: cfg.Seed}
	var js *judged
	if sft != nil {
		if js, err = judge(ctx, sft, prompts, n, cfg, control); err != nil {
			return nil, err
		}
	}
	for _, s := range common {
		pa, err := LoadPolicy(CheckpointDir(runA, s))
		if err != nil {
			return nil, err
		}
		pb, err := LoadPolicy(CheckpointDir(runB, s))
		if err != nil {
			return nil, err
		}
		ja, err := judge(ctx, pa, prompts, n, cfg, control)
		if err != nil {
			return nil, err
		}
		jb, err := judge(ctx, pb, prompts, n, cfg, control)
		if err != nil {
			return nil, err
		}
		row := RunsRow{Step: s, AvsB: compareJudged(ja, jb, n)}
		row.AvsB.NameA, row.AvsB.NameB, row.AvsB.Step = runA, runB, s
		if js != nil {
			a, b := compareJudged(ja, js, n), compareJudged(jb, js, n)
			a.NameA, a.NameB, a.Step = runA, "sft", s
			b.NameA, b.NameB, b.Step = runB, "sft", s
			row.AvsSFT, row.BvsSFT = &a, &b
		}
		t.Rows = append(t.Rows, row)
		if log != nil {
			pipeline.Logger(log).Info("winrate", "step", s, "rate", fmt.Sprintf("%.3f ± %.3f", row.AvsB.Rate, row.AvsB.SE), "control_a", fmt.Sprintf("%.3f", row.AvsB.ControlA), "control_b", fmt.Sprintf("%.3f", row.AvsB.ControlB))
		}
	}
	return t, nil
}

// WinRateFigure draws a RunsTable against steps.
func WinRateFigure(t *RunsTable, nameA, nameB string) report.Figure {
	f := report.Figure{Name: "winrate_steps", Title: fmt.Sprintf("win rate of %s against %s at matched steps (%s, ±2 SE)", nameA, nameB, t.Control),
		XLabel: "RL step", YLabel: "win rate (ties split)"}
	var xs, ab, abe, as, bs []float64
	for _, r := range t.Rows {
		xs = append(xs, float64(r.Step))
		ab = append(ab, r.AvsB.Rate)
		abe = append(abe, 2*r.AvsB.SE)
		if r.AvsSFT != nil {
			as = append(as, r.AvsSFT.Rate)
			bs = append(bs, r.BvsSFT.Rate)
		}
	}
	f.Series = append(f.Series, report.Series{Label: nameA + " vs " + nameB, X: xs, Y: ab, Err: abe})
	if len(as) == len(xs) {
		f.Series = append(f.Series, report.Series{Label: nameA + " vs SFT", X: xs, Y: as}, report.Series{Label: nameB + " vs SFT", X: xs, Y: bs})
	}
	f.Series = append(f.Series, report.Constant("even", xs, 0.5, len(f.Series)+1))
	return f
}
