package eval

import (
	"context"
	"fmt"
	"math"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// ScorePairs returns the reward of the chosen and of the rejected sequence
// of every pair, computed without dropout in batches of batchSize pairs
// (each batch one Rewards call on its chosen then its rejected sequences).
func ScorePairs(ctx context.Context, m model.RewardModel, pairs []data.TokPair, batchSize int) (chosen, rejected []float32, err error) {
	if batchSize < 1 {
		return nil, nil, fmt.Errorf("scoring: batch size %d", batchSize)
	}
	chosen = make([]float32, len(pairs))
	rejected = make([]float32, len(pairs))
	seqs := make([][]int32, 0, 2*batchSize)
	for lo := 0; lo < len(pairs); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		hi := min(lo+batchSize, len(pairs))
		seqs = seqs[:0]
		for i := lo; i < hi; i++ {
			seqs = append(seqs, pairs[i].Chosen.Tokens)
		}
		for i := lo; i < hi; i++ {
			seqs = append(seqs, pairs[i].Rejected.Tokens)
		}
		for j, s := range seqs {
			if len(s) > m.MaxLen() {
				return nil, nil, fmt.Errorf("scoring: pair %d has a sequence of %d tokens, more than the model's %d positions", pairs[lo+j%(hi-lo)].ID, len(s), m.MaxLen())
			}
		}
		r, err := m.Rewards(seqs)
		if err != nil {
			return nil, nil, fmt.Errorf("scoring: %w", err)
		}
		copy(chosen[lo:hi], r[:hi-lo])
		copy(rejected[lo:hi], r[hi-lo:])
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

// Agreement returns the fraction of pairs on which two models' per-pair
// correctness is equal, i.e. they prefer the same response; NaN when the
// lengths differ or there are no pairs.
func Agreement(a, b []bool) float64 {
	if len(a) == 0 || len(b) != len(a) {
		return math.NaN()
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
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

// MeanStd returns the mean and the population standard deviation of xs
// (0, 0 for none).
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)))
}

// Pearson is the correlation of xs and ys (false when they differ in
// length, are empty, or either is constant).
func Pearson(xs, ys []float64) (float64, bool) {
	if len(xs) == 0 || len(xs) != len(ys) {
		return 0, false
	}
	mx, sx := MeanStd(xs)
	my, sy := MeanStd(ys)
	if sx == 0 || sy == 0 {
		return 0, false
	}
	var c float64
	for i := range xs {
		c += (xs[i] - mx) * (ys[i] - my)
	}
	return c / float64(len(xs)) / (sx * sy), true
}

// MeanCorrelation is the mean Pearson correlation over every pair of the
// series (a pair with a constant series is left out) and the number of
// pairs it averages: how much models' errors (1 wrong, 0 right) overlap.
func MeanCorrelation(series [][]float64) (mean float64, pairs int) {
	var sum float64
	for a := 0; a < len(series); a++ {
		for b := a + 1; b < len(series); b++ {
			if r, ok := Pearson(series[a], series[b]); ok {
				sum += r
				pairs++
			}
		}
	}
	if pairs == 0 {
		return math.NaN(), 0
	}
	return sum / float64(pairs), pairs
}
