package eval

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// ScorePairs returns the reward of the chosen and of the rejected sequence
// of every pair, computed without dropout in batches of batchSize pairs.
func ScorePairs(ctx context.Context, m *model.Model, pairs []data.TokPair, pad, batchSize int) (chosen, rejected []float32, err error) {
	if !m.Config.RewardHead {
		return nil, nil, errors.New("scoring: the model has no reward head (score.weight)")
	}
	if batchSize < 1 {
		return nil, nil, fmt.Errorf("scoring: batch size %d", batchSize)
	}
	chosen = make([]float32, len(pairs))
	rejected = make([]float32, len(pairs))
	idx := make([]int, 0, batchSize)
	for lo := 0; lo < len(pairs); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		idx = idx[:0]
		for i := lo; i < min(lo+batchSize, len(pairs)); i++ {
			p := pairs[i]
			for _, s := range []data.Seq{p.Chosen, p.Rejected} {
				if len(s.Tokens) > m.Config.NPositions {
					return nil, nil, fmt.Errorf("scoring: pair %d has a sequence of %d tokens, more than the model's %d positions", p.ID, len(s.Tokens), m.Config.NPositions)
				}
			}
			idx = append(idx, i)
		}
		b := data.MakePairBatch(pairs, idx, pad)
		r, err := m.RewardForward(b.Tokens, b.N, b.T, b.Lengths, false, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("scoring: %w", err)
		}
		copy(chosen[lo:], r[:b.B])
		copy(rejected[lo:], r[b.B:2*b.B])
	}
	return chosen, rejected, nil
}

// Stats summarises a set of rewards.
type Stats struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Summary is the evaluation of a reward model on a pair set.
type Summary struct {
	N int `json:"n"`
	// Correct counts pairs whose chosen response scores strictly higher.
	Correct int `json:"correct"`
	// Ties counts pairs scored exactly equal (not correct).
	Ties int `json:"ties"`
	// Accuracy is Correct / N; StdErr its binomial standard error.
	Accuracy float64 `json:"accuracy"`
	StdErr   float64 `json:"stderr"`
	// MeanMargin is the mean of r(chosen) − r(rejected).
	MeanMargin float64 `json:"mean_margin"`
	Chosen     Stats   `json:"chosen"`
	Rejected   Stats   `json:"rejected"`
}

// Summarize computes the Summary of paired rewards.
func Summarize(chosen, rejected []float32) Summary {
	s := Summary{N: len(chosen)}
	if s.N == 0 {
		return s
	}
	var margin float64
	for i := range chosen {
		d := float64(chosen[i]) - float64(rejected[i])
		switch {
		case d > 0:
			s.Correct++
		case d == 0:
			s.Ties++
		}
		margin += d
	}
	s.Accuracy = float64(s.Correct) / float64(s.N)
	s.StdErr = math.Sqrt(s.Accuracy * (1 - s.Accuracy) / float64(s.N))
	s.MeanMargin = margin / float64(s.N)
	s.Chosen, s.Rejected = stats(chosen), stats(rejected)
	return s
}

func stats(x []float32) Stats {
	st := Stats{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, sq float64
	for _, v := range x {
		f := float64(v)
		sum += f
		sq += f * f
		st.Min = math.Min(st.Min, f)
		st.Max = math.Max(st.Max, f)
	}
	n := float64(len(x))
	st.Mean = sum / n
	st.Std = math.Sqrt(math.Max(sq/n-st.Mean*st.Mean, 0))
	return st
}

// Correct reports, per pair, whether the chosen response scored strictly
// higher: the per-example outcomes that paired comparisons between two
// reward models are built on.
func Correct(chosen, rejected []float32) []bool {
	out := make([]bool, len(chosen))
	for i := range chosen {
		out[i] = chosen[i] > rejected[i]
	}
	return out
}

// PairedDiff compares two models on the same pairs: the mean of
// (a correct) − (b correct) over pairs, and the standard error of that
// mean, so a difference can be judged against per-example noise.
func PairedDiff(a, b []bool) (mean, stderr float64) {
	if len(a) == 0 || len(b) != len(a) {
		return math.NaN(), math.NaN()
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = b2f(a[i]) - b2f(b[i])
	}
	return MeanStdErr(d)
}

// MeanStdErr returns the mean of d and its standard error (the sample
// standard deviation over sqrt(n), two-pass; 0 for one value, NaN for none).
func MeanStdErr(d []float64) (mean, stderr float64) {
	n := float64(len(d))
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range d {
		mean += x
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss/(n-1)) / math.Sqrt(n)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
