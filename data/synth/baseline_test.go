package synth

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/data"
)

// bowModel is a bag-of-words linear reward over response words: the shallow
// baseline the OOD split is meant to defeat in part.
type bowModel struct {
	vocab map[string]int
	w     []float64
}

func bowWords(s string) []string { return strings.Fields(strings.ReplaceAll(s, ".", " .")) }

// trainBoW fits r(x) = w . counts(x) with the Bradley-Terry loss by
// full-batch gradient descent.
func trainBoW(pairs []data.Pair) *bowModel {
	m := &bowModel{vocab: map[string]int{}}
	type entry struct {
		k int
		v float64
	}
	diffs := make([][]entry, len(pairs))
	for i, p := range pairs {
		d := map[int]float64{}
		for _, w := range bowWords(p.Chosen) {
			d[m.id(w)]++
		}
		for _, w := range bowWords(p.Rejected) {
			d[m.id(w)]--
		}
		for k, v := range d {
			if v != 0 {
				diffs[i] = append(diffs[i], entry{k, v})
			}
		}
		slices.SortFunc(diffs[i], func(a, b entry) int { return a.k - b.k }) // fixed summation order
	}
	m.w = make([]float64, len(m.vocab))
	grad := make([]float64, len(m.w))
	for range 300 {
		clear(grad)
		for _, d := range diffs {
			z := 0.0
			for _, e := range d {
				z += m.w[e.k] * e.v
			}
			g := -1 / (1 + math.Exp(z)) // d/dz of -log sigmoid(z)
			for _, e := range d {
				grad[e.k] += g * e.v
			}
		}
		for k := range m.w {
			m.w[k] -= 0.5 * grad[k] / float64(len(diffs))
		}
	}
	return m
}

func (m *bowModel) id(w string) int {
	if i, ok := m.vocab[w]; ok {
		return i
	}
	m.vocab[w] = len(m.vocab)
	return len(m.vocab) - 1
}

func (m *bowModel) reward(s string) float64 {
	r := 0.0
	for _, w := range bowWords(s) {
		if i, ok := m.vocab[w]; ok {
			r += m.w[i]
		}
	}
	return r
}

// accuracy returns the fraction of pairs where score prefers Chosen, per kind
// and overall ("all").
func accuracy(s Split, score func(p data.Pair) bool) map[string]float64 {
	ok, n := map[string]int{}, map[string]int{}
	for i, p := range s.Pairs {
		for _, k := range []string{"all", s.Kinds[i]} {
			n[k]++
			if score(p) {
				ok[k]++
			}
		}
	}
	out := map[string]float64{}
	for k := range n {
		out[k] = float64(ok[k]) / float64(n[k])
	}
	return out
}

// TestShallowBaselines checks that the OOD split grades reward models: the
// length rule fails it, a bag-of-words reward (which can learn salience from
// the train pairs but cannot check a clause against the post) does better on
// salient-vs-minor pairs yet still fails the kinds that need checking.
func TestShallowBaselines(t *testing.T) {
	c := smallConfig(1)
	c.TrainPairs, c.OODTestPairs = 6000, 2000
	task := generate(t, c)
	bow := trainBoW(task.Train.Pairs)
	bowAcc := func(s Split) map[string]float64 {
		return accuracy(s, func(p data.Pair) bool { return bow.reward(p.Chosen) > bow.reward(p.Rejected) })
	}
	lenAcc := func(s Split) map[string]float64 {
		return accuracy(s, func(p data.Pair) bool { return len(p.Chosen) > len(p.Rejected) })
	}
	bt, bo := bowAcc(task.Test), bowAcc(task.OODTest)
	lt, lo := lenAcc(task.Test), lenAcc(task.OODTest)
	t.Logf("length rule: test %.3f OOD %.3f %v", lt["all"], lo["all"], lo)
	t.Logf("bag of words: test %.3f OOD %.3f %v", bt["all"], bo["all"], bo)
	if bt["all"] < 0.70 || bt["all"] > 0.86 {
		t.Errorf("bag-of-words ID test accuracy %.3f outside 0.70..0.86", bt["all"])
	}
	if lo["all"] > 0.35 || bo["all"] > 0.6 || bo["all"] < lo["all"]+0.05 {
		t.Errorf("OOD accuracies: length %.3f, bag of words %.3f", lo["all"], bo["all"])
	}
	if bo[KindSalientMinor] < 0.55 || lo[KindSalientMinor] > 0.4 {
		t.Errorf("salient-vs-minor: bag of words %.3f (want >= 0.55), length %.3f (want <= 0.4)", bo[KindSalientMinor], lo[KindSalientMinor])
	}
	if bo[KindConciseRambling] > 0.3 || bo[KindPadded] > 0.3 {
		t.Errorf("kinds needing clause checks: bag of words %.3f / %.3f, want <= 0.3", bo[KindConciseRambling], bo[KindPadded])
	}
}
