package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/scorer"
	"github.com/warm-rm/warm/sweep"
)

// evaluateFamily evaluates a sweep whose members are not GPT-2 (Llama,
// Mistral, Qwen2, Qwen3, Gemma2 reward models, e.g. trained by another tool
// through a --command manifest). Members are loaded one at a time through
// package scorer (each record encoded as `warm score` would); WA(M) is
// `warm merge` of the top M into a temporary directory (the same bytes),
// loaded and scored; ENS(M) is the mean of the members' rewards. The
// greedy soup and the LMC curves (of the member pairs the manifest's roles
// name, as for GPT-2) merge each point the same way, a checkpoint written,
// scored and removed per point.
func evaluateFamily(ctx context.Context, man *sweep.Manifest, sets []*Set, o EvalOptions, start time.Time) (*Results, error) {
	log := pipeline.Logger(o.Log)
	ev := &evaluation{
		evaluator: evaluator{sets: sets, batch: o.Batch},
		man:       man, o: o,
		res: &Results{Date: time.Now().UTC().Format(time.RFC3339), RankSet: o.RankSet},
	}
	res := ev.res
	for _, s := range sets {
		res.Sets = append(res.Sets, SetInfo{s.Name, len(s.Pairs)})
	}
	ev.mscores = make([]scored, len(man.Members))
	firstSet := make([]float64, len(man.Members)) // seconds scoring sets[0], for the cost
	for i, mb := range man.Members {
		sc, secs, err := scoreDir(ctx, man.MemberDir(i), sets, o.Batch)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", mb.Name, err)
		}
		ev.mscores[i], firstSet[i] = sc, secs
		res.Entries = append(res.Entries, Entry{Name: mb.Name, Kind: sweep.KindMember, Results: results(sc, sets)})
		log.Info("scored", "model", mb.Name)
	}
	res.ErrorCorrelation = errorCorrelation(man, ev.mscores, sets)
	if err := ev.rankMembers(); err != nil {
		return nil, err
	}
	ignoreBase, err := man.ForeignMembers()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(man.MemberDir(0)), ".warm-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var waSecs float64
	for _, M := range o.Ms {
		top, err := sweep.Top(ev.rank, M)
		if err != nil {
			return nil, err
		}
		dirs, names := make([]string, M), make([]string, M)
		parts := make([]scored, M)
		for k, i := range top {
			dirs[k], names[k], parts[k] = man.MemberDir(i), man.Members[i].Name, ev.mscores[i]
		}
		waName := sweep.WAName(M)
		wsc, secs, err := mergeScore(ctx, tmp, dirs, merge.Options{IgnoreBaseFingerprint: ignoreBase}, sets, o.Batch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", waName, err)
		}
		waSecs = secs
		ev.addAverages(M, names, wsc, ensemble(parts))
	}
	if o.GreedySoup {
		err := ev.greedySoup(func(idx []int, only []string) (scored, error) {
			dirs := make([]string, len(idx))
			for k, i := range idx {
				dirs[k] = man.MemberDir(i)
			}
			sc, _, err := mergeScore(ctx, tmp, dirs, merge.Options{IgnoreBaseFingerprint: ignoreBase}, pickSets(sets, only), o.Batch)
			return sc, err
		})
		if err != nil {
			return nil, err
		}
	}
	if res.LMC, err = familyLMC(ctx, man, sets, o, tmp, ignoreBase); err != nil {
		return nil, err
	}
	// Cost: one model against the M members of ENS(M), each scored alone
	// on the first set (ENS's passes are those of its members).
	per1000 := 1000 / float64(max(len(sets[0].Pairs), 1)) * 1000
	res.Costs = append(res.Costs, Cost{Name: "WA", M: 1, MsPer1000Pairs: waSecs * per1000})
	for _, M := range o.Ms {
		var t float64
		for _, i := range ev.rank[:M] {
			t += firstSet[i]
		}
		res.Costs = append(res.Costs, Cost{Name: sweep.ENSName(M), M: M, MsPer1000Pairs: t * per1000})
	}
	res.Wall = time.Since(start).Round(time.Second).String()
	return res, nil
}

// familyLMC computes the LMC curves of the member pairs the manifest's
// roles name (lmcPairs) on subsamples of o.LMCSets: each point
// (1−λ)·a + λ·b is `warm merge --lambda` of the two checkpoints, scored;
// the ends are the members' own checkpoints.
func familyLMC(ctx context.Context, man *sweep.Manifest, sets []*Set, o EvalOptions, tmp string, ignoreBase bool) ([]Curve, error) {
	pairs := lmcPairs(man)
	lsets := lmcSets(sets, o)
	if len(pairs) == 0 || len(lsets) == 0 {
		return nil, nil
	}
	return lmcCurves(pairs, lsets, o, func(p lmcPair, lam float64) (scored, error) {
		var sc scored
		var err error
		switch lam {
		case 0: // merge --lambda 0 and 1 write the ends' own weights
			sc, _, err = scoreDir(ctx, p.a.dir, lsets, o.Batch)
		case 1:
			sc, _, err = scoreDir(ctx, p.b.dir, lsets, o.Batch)
		default:
			sc, _, err = mergeScore(ctx, tmp, []string{p.a.dir, p.b.dir}, merge.Options{Lambda: &lam, IgnoreBaseFingerprint: ignoreBase}, lsets, o.Batch)
		}
		return sc, err
	})
}

// mergeScore merges dirs with opts into a checkpoint under tmp (NoSync:
// it is read once), scores it on sets, removes it, and returns the scores
// and the seconds spent scoring the first set.
func mergeScore(ctx context.Context, tmp string, dirs []string, opts merge.Options, sets []*Set, batch int) (scored, float64, error) {
	out := filepath.Join(tmp, "merged")
	defer os.RemoveAll(out)
	opts.NoSync = true
	if _, err := merge.Run(ctx, out, dirs, opts); err != nil {
		return nil, 0, err
	}
	return scoreDir(ctx, out, sets, batch)
}

// pickSets returns the sets named only, in order (nil: every set).
func pickSets(sets []*Set, only []string) []*Set {
	if only == nil {
		return sets
	}
	var out []*Set
	for _, s := range sets {
		if slices.Contains(only, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// scoreDir loads the reward model at dir (any family) and scores every set;
// it returns the scores and the seconds spent on the first set.
func scoreDir(ctx context.Context, dir string, sets []*Set, batch int) (scored, float64, error) {
	s, err := scorer.Load(dir)
	if err != nil {
		return nil, 0, err
	}
	out := scored{}
	var first float64
	for k, set := range sets {
		t0 := time.Now()
		c, r, err := s.ScorePairs(ctx, set.Pairs, max(batch, 1))
		if err != nil {
			return nil, 0, fmt.Errorf("set %s: %w", set.Name, err)
		}
		if k == 0 {
			first = time.Since(t0).Seconds()
		}
		out[set.Name] = pairScores{c, r}
	}
	return out, first, nil
}

// isGPT2 reports whether the sweep's first member is a GPT-2 checkpoint
// (warm's own engine path, with LMC and the greedy soup).
func isGPT2(man *sweep.Manifest) (bool, error) {
	typ, err := checkpoint.ModelType(man.MemberDir(0))
	if err != nil {
		return false, fmt.Errorf("member %s: %w (train it with 'warm sweep run')", man.Members[0].Name, err)
	}
	return typ == "gpt2", nil
}
