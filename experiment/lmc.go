package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
)

// lmcEnd is one end of an LMC curve: a member of the manifest, or (member
// −1) a snapshot of the ref member, at dir.
type lmcEnd struct {
	name, dir string
	member    int
}

// lmcPair is one pair of endpoints of an LMC curve.
type lmcPair struct {
	kind string
	a, b lmcEnd
}

// lmcPairs finds the member pairs of increasing diversity the sweep was
// planned with (sweep.PlanOptions.LMC): the ref member against its own
// snapshots (those on disk), and against the members that differ from it
// in data order, learning rate and initialisation; and the two members of
// a cross-dataset merge.
func lmcPairs(man *sweep.Manifest) []lmcPair {
	end := func(i int) lmcEnd { return lmcEnd{man.Members[i].Name, man.MemberDir(i), i} }
	var out []lmcPair
	var ds []int
	for i, m := range man.Members {
		if m.Role == RoleDataset {
			ds = append(ds, i)
		}
	}
	if len(ds) == 2 {
		out = append(out, lmcPair{kind: "datasets", a: end(ds[0]), b: end(ds[1])})
	}
	ref := slices.IndexFunc(man.Members, func(m sweep.Member) bool { return m.Role == "ref" })
	if ref < 0 {
		return out
	}
	rm := man.Members[ref]
	for _, s := range rm.SaveAt {
		dir := filepath.Join(man.MemberDir(ref)+".steps", fmt.Sprintf("step-%06d", s))
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		out = append(out, lmcPair{kind: "checkpoints", a: lmcEnd{fmt.Sprintf("%s@%d", rm.Name, s), dir, -1}, b: end(ref)})
	}
	for _, kind := range []string{"order", "lr", "init"} {
		j := slices.IndexFunc(man.Members, func(m sweep.Member) bool { return m.Role == kind })
		if j >= 0 {
			out = append(out, lmcPair{kind: kind, a: end(ref), b: end(j)})
		}
	}
	return out
}

// lmcSets are the sets of the LMC curves: subsamples of o.LMCSets (the
// same pairs for every family).
func lmcSets(sets []*Set, o EvalOptions) []*Set {
	var lsets []*Set
	for _, name := range o.LMCSets {
		i := slices.IndexFunc(sets, func(s *Set) bool { return s.Name == name })
		if i < 0 {
			continue
		}
		s := sets[i]
		idx := subsetIdx(len(s.Pairs), o.LMCPairs, o.Seed+7)
		ls := &Set{Name: s.Name}
		for _, j := range idx {
			ls.Pairs = append(ls.Pairs, s.Pairs[j])
			if s.tok != nil {
				ls.tok = append(ls.tok, s.tok[j])
			}
		}
		lsets = append(lsets, ls)
	}
	return lsets
}

// lmcCurves computes the curves of every pair on lsets: score(p, λ)
// scores the interpolation (1−λ)·a + λ·b of pair p. The ends (λ = 0 and
// 1, which are the members themselves) are scored once each, first, and
// reused where o.Lambdas holds 0 or 1.
func lmcCurves(pairs []lmcPair, lsets []*Set, o EvalOptions, score func(p lmcPair, lam float64) (scored, error)) ([]Curve, error) {
	var curves []Curve
	for _, p := range pairs {
		sa, err := score(p, 0)
		if err != nil {
			return nil, err
		}
		sb, err := score(p, 1)
		if err != nil {
			return nil, err
		}
		cs := make([]Curve, len(lsets))
		for k, s := range lsets {
			cs[k] = Curve{Kind: p.kind, A: p.a.name, B: p.b.name, Set: s.Name, Lambdas: o.Lambdas}
		}
		for _, lam := range o.Lambdas {
			var sw scored
			switch lam {
			case 0:
				sw = sa
			case 1:
				sw = sb
			default:
				if sw, err = score(p, lam); err != nil {
					return nil, fmt.Errorf("LMC %s λ=%g: %w", p.kind, lam, err)
				}
			}
			for k, s := range lsets {
				a, b, w := sa[s.Name], sb[s.Name], sw[s.Name]
				accA := eval.Summarize(a.chosen, a.rejected).Accuracy
				accB := eval.Summarize(b.chosen, b.rejected).Accuracy
				n := len(a.chosen)
				ec, er := make([]float32, n), make([]float32, n)
				for i := 0; i < n; i++ {
					ec[i] = float32((1-lam)*float64(a.chosen[i]) + lam*float64(b.chosen[i]))
					er[i] = float32((1-lam)*float64(a.rejected[i]) + lam*float64(b.rejected[i]))
				}
				cs[k].WA = append(cs[k].WA, eval.Summarize(w.chosen, w.rejected).Accuracy)
				cs[k].ENS = append(cs[k].ENS, eval.Summarize(ec, er).Accuracy)
				cs[k].Diag = append(cs[k].Diag, (1-lam)*accA+lam*accB)
				cs[k].WADiagSE = append(cs[k].WADiagSE, waDiagSE(a, b, w, lam))
			}
		}
		pipeline.Logger(o.Log).Info("LMC", "kind", p.kind, "a", p.a.name, "b", p.b.name)
		curves = append(curves, cs...)
	}
	return curves, nil
}

func subsetIdx(n, k int, seed uint64) []int {
	pairs := make([]data.Pair, n)
	for i := range pairs {
		pairs[i].ID = i
	}
	sub := subsample(pairs, k, seed)
	out := make([]int, len(sub))
	for i, p := range sub {
		out[i] = p.ID
	}
	return out
}

// waDiagSE is the standard error of the mean per-pair difference between
// the interpolated model's correctness and the line between the endpoints'
// correctness, (1-λ)·[A correct] + λ·[B correct]: the noise of WA − Diag.
func waDiagSE(a, b, w pairScores, lam float64) float64 {
	ok := func(s pairScores, i int) float64 {
		if s.chosen[i] > s.rejected[i] {
			return 1
		}
		return 0
	}
	d := make([]float64, len(w.chosen))
	for i := range d {
		d[i] = ok(w, i) - ((1-lam)*ok(a, i) + lam*ok(b, i))
	}
	if len(d) < 2 {
		return 0
	}
	_, se := eval.MeanStdErr(d)
	return se
}

// lmc computes the LMC curves between the member pairs the sweep planned
// for them, on subsamples of o.LMCSets, interpolating the GPT-2 weights in
// memory.
func (ev *evaluation) lmc(ctx context.Context) ([]Curve, error) {
	pairs := lmcPairs(ev.man)
	lsets := lmcSets(ev.sets, ev.o)
	if len(pairs) == 0 || len(lsets) == 0 {
		return nil, nil
	}
	lev := &evaluator{sets: lsets, batch: ev.batch}
	interp, err := model.New(ev.members[0].Model.Config)
	if err != nil {
		return nil, err
	}
	load := func(e lmcEnd) (*model.Model, error) {
		if e.member >= 0 {
			return ev.members[e.member].Model, nil
		}
		ck, err := checkpoint.Load(e.dir)
		if err != nil {
			return nil, fmt.Errorf("LMC snapshot: %w", err)
		}
		return ck.Model, nil
	}
	var cur lmcPair
	var ma, mb *model.Model
	return lmcCurves(pairs, lsets, ev.o, func(p lmcPair, lam float64) (scored, error) {
		if p != cur || ma == nil {
			if ma, err = load(p.a); err != nil {
				return nil, err
			}
			if mb, err = load(p.b); err != nil {
				return nil, err
			}
			cur = p
		}
		interp.Unpack() // its weights change under any packed copy
		if err := merge.AverageFloat32(interp.Flat, [][]float32{ma.Flat, mb.Flat}, []float64{1 - lam, lam}); err != nil {
			return nil, err
		}
		return lev.score(ctx, interp, nil)
	})
}
