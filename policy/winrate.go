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

// draw samples n responses per prompt from p.
func draw(ctx context.Context, p *Policy, prompts []string, n int, cfg sample.Config) ([]Sample, error) {
	ps, err := p.EncodePrompts(prompts, cfg.MaxTokens)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	ss, err := p.Generate(ctx, ps, n, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return ss, nil
}

// judge scores p's samples ss with each control (one judged a control) and
// measures their repetition once.
func judge(ctx context.Context, p *Policy, ss []Sample, controls []Reward) ([]*judged, error) {
	rep := make([]float64, len(ss))
	for i := range ss {
		rep[i] = data.Repetition(ss[i].ResponseText)
	}
	out := make([]*judged, len(controls))
	for k, control := range controls {
		c, err := control.Score(ctx, p.Items(ss))
		if err != nil {
			return nil, fmt.Errorf("%s: control reward %s: %w", p.Name, control.Name(), err)
		}
		out[k] = &judged{control: c, repetition: rep}
	}
	return out, nil
}

// drawAndJudge draws p's samples and judges them with every control.
func drawAndJudge(ctx context.Context, p *Policy, prompts []string, n int, cfg sample.Config, controls []Reward) ([]*judged, error) {
	ss, err := draw(ctx, p, prompts, n, cfg)
	if err != nil {
		return nil, err
	}
	return judge(ctx, p, ss, controls)
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
	ws, err := CompareAll(ctx, a, b, prompts, n, cfg, []Reward{control})
	if err != nil {
		return WinRate{}, err
	}
	return ws[0], nil
}

// CompareAll is Compare under several controls at once: the samples are
// drawn once and each control judges the same ones, so the win rates are
// those of one Compare a control, for the cost of one sampling.
func CompareAll(ctx context.Context, a, b *Policy, prompts []string, n int, cfg sample.Config, controls []Reward) ([]WinRate, error) {
	if n < 1 || len(prompts) == 0 {
		return nil, errors.New("win rate: no prompts or samples")
	}
	if len(controls) == 0 {
		return nil, errors.New("win rate: no control reward")
	}
	ja, err := drawAndJudge(ctx, a, prompts, n, cfg, controls)
	if err != nil {
		return nil, err
	}
	jb, err := drawAndJudge(ctx, b, prompts, n, cfg, controls)
	if err != nil {
		return nil, err
	}
	ws := make([]WinRate, len(controls))
	for k := range controls {
		ws[k] = compareJudged(ja[k], jb[k], n)
		ws[k].NameA, ws[k].NameB = a.Name, b.Name
	}
	return ws, nil
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
	ts, err := CompareRunsAll(ctx, runA, runB, sft, steps, prompts, n, cfg, []Reward{control}, log)
	if err != nil {
		return nil, err
	}
	return ts[0], nil
}

// CompareRunsAll is CompareRuns under several controls at once, one table a
// control: each policy's samples are drawn once a step and judged by every
// control, so each table equals CompareRuns' under its control.
func CompareRunsAll(ctx context.Context, runA, runB string, sft *Policy, steps []int, prompts []string, n int, cfg sample.Config, controls []Reward, log *slog.Logger) ([]*RunsTable, error) {
	if len(controls) == 0 {
		return nil, errors.New("win rate: no control reward")
	}
	common, err := commonSteps(runA, runB, steps)
	if err != nil {
		return nil, err
	}
	ts := make([]*RunsTable, len(controls))
	for k, c := range controls {
		ts[k] = &RunsTable{A: runA, B: runB, Control: c.Name(), Prompts: len(prompts), Samples: n, Seed: cfg.Seed}
	}
	var js []*judged
	if sft != nil {
		if js, err = drawAndJudge(ctx, sft, prompts, n, cfg, controls); err != nil {
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
		ja, err := drawAndJudge(ctx, pa, prompts, n, cfg, controls)
		if err != nil {
			return nil, err
		}
		jb, err := drawAndJudge(ctx, pb, prompts, n, cfg, controls)
		if err != nil {
			return nil, err
		}
		for k, t := range ts {
			row := RunsRow{Step: s, AvsB: compareJudged(ja[k], jb[k], n)}
			row.AvsB.NameA, row.AvsB.NameB, row.AvsB.Step = runA, runB, s
			if js != nil {
				a, b := compareJudged(ja[k], js[k], n), compareJudged(jb[k], js[k], n)
				a.NameA, a.NameB, a.Step = runA, "sft", s
				b.NameA, b.NameB, b.Step = runB, "sft", s
				row.AvsSFT, row.BvsSFT = &a, &b
			}
			t.Rows = append(t.Rows, row)
			if log != nil {
				pipeline.Logger(log).Info("winrate", "step", s, "control", t.Control, "rate", fmt.Sprintf("%.3f ± %.3f", row.AvsB.Rate, row.AvsB.SE),
					"control_a", fmt.Sprintf("%.3f", row.AvsB.ControlA), "control_b", fmt.Sprintf("%.3f", row.AvsB.ControlB))
			}
		}
	}
	return ts, nil
}

// commonSteps lists the steps both runs saved (only those in steps, if
// given), ascending.
func commonSteps(runA, runB string, steps []int) ([]int, error) {
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
	return common, nil
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
