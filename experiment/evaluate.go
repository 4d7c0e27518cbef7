package experiment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/tokenizer"
)

// EvalOptions sets up the evaluation of a sweep.
type EvalOptions struct {
	// Ms are the ensemble sizes compared (default 2, 4, 6, 10 where
	// available, and all members).
	Ms []int
	// MaxPairs bounds each evaluation set (a seeded subsample; 0: all).
	MaxPairs int
	// LMCPairs bounds the sets of the LMC curves, which score 11 models per
	// member pair (0: MaxPairs).
	LMCPairs int
	// Lambdas are the interpolation coefficients of the LMC curves
	// (default 0, 0.1, ..., 1).
	Lambdas []float64
	// RankSet ranks members (default sweep.DefaultRankSet).
	RankSet string
	// LMCSets are the sets of the LMC curves (default the OOD test set and
	// the flipped training pairs).
	LMCSets []string
	// GreedySoup adds the greedy soup: members in rank order, each kept
	// only if the rank-set accuracy of the average does not drop.
	GreedySoup bool
	// Seed draws the subsamples.
	Seed  uint64
	Batch int
	Log   *slog.Logger
}

func (o *EvalOptions) defaults(n int) {
	if o.Ms == nil {
		for _, m := range []int{2, 4, 6, 10} {
			if m <= n {
				o.Ms = append(o.Ms, m)
			}
		}
		if !slices.Contains(o.Ms, n) && n > 1 {
			o.Ms = append(o.Ms, n)
		}
	}
	if o.Lambdas == nil {
		for i := 0; i <= 10; i++ {
			o.Lambdas = append(o.Lambdas, float64(i)/10)
		}
	}
	if o.RankSet == "" {
		o.RankSet = sweep.DefaultRankSet
	}
	if o.LMCSets == nil {
		o.LMCSets = []string{"ood_test", SetTrainFlipped}
	}
	if o.LMCPairs == 0 {
		o.LMCPairs = o.MaxPairs
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
}

// SetResult is one model's accuracy on one set.
type SetResult struct {
	Set      string  `json:"set"`
	N        int     `json:"n"`
	Accuracy float64 `json:"accuracy"`
	StdErr   float64 `json:"stderr"`
	Ties     int     `json:"ties"`
	correct  []bool
}

// Entry is one evaluated model: a member, WA(M), ENS(M) or the soup.
type Entry struct {
	Name    string      `json:"name"`
	Kind    sweep.Kind  `json:"kind"`
	M       int         `json:"m,omitempty"`
	Members []string    `json:"members,omitempty"`
	Results []SetResult `json:"results"`
}

// Result returns the entry's result on set, if any.
func (e *Entry) Result(set string) (SetResult, bool) {
	for _, r := range e.Results {
		if r.Set == set {
			return r, true
		}
	}
	return SetResult{}, false
}

// Comparison is a paired comparison of two entries on one set: the mean
// per-example difference of correctness (A − B) and its standard error.
type Comparison struct {
	A      string  `json:"a"`
	B      string  `json:"b"`
	Set    string  `json:"set"`
	Diff   float64 `json:"diff"`
	StdErr float64 `json:"stderr"`
}

// Cost is the measured inference cost of scoring pairs.
type Cost struct {
	Name string `json:"name"`
	M    int    `json:"m"`
	// MsPer1000Pairs is the wall time of scoring 1,000 pairs.
	MsPer1000Pairs float64 `json:"ms_per_1000_pairs"`
}

// Curve is an LMC curve between two members on one set.
type Curve struct {
	// Kind is the diversity between the endpoints: "checkpoints" (two
	// checkpoints of one run), "order", "lr" or "init".
	Kind    string    `json:"kind"`
	A       string    `json:"a"`
	B       string    `json:"b"`
	Set     string    `json:"set"`
	Lambdas []float64 `json:"lambdas"`
	// WA: weights interpolated; ENS: rewards interpolated; Diag: the
	// straight line between the endpoints' accuracies.
	WA   []float64 `json:"wa"`
	ENS  []float64 `json:"ens"`
	Diag []float64 `json:"diag"`
	// WADiagSE is the standard error of WA − Diag at each λ (paired over
	// pairs); absent in results written before it was measured.
	WADiagSE []float64 `json:"wa_diag_se,omitempty"`
}

// MemberInfo describes a member of the sweep and its rank.
type MemberInfo = sweep.MemberRank

// Results is everything the evaluation measured.
type Results struct {
	Date        string       `json:"date"`
	Manifest    string       `json:"manifest"`
	RankSet     string       `json:"rank_set"`
	Sets        []SetInfo    `json:"sets"`
	Members     []MemberInfo `json:"members"`
	Entries     []Entry      `json:"entries"`
	Comparisons []Comparison `json:"comparisons"`
	Costs       []Cost       `json:"costs"`
	LMC         []Curve      `json:"lmc"`
	// ErrorCorrelation is, per set, the mean correlation of the members'
	// errors (the mechanism WARM relies on: averaging removes what members
	// do not share; errors every member makes survive it).
	ErrorCorrelation []ErrorCorrelation `json:"member_error_correlation,omitempty"`
	Wall             string             `json:"wall"`
}

// ErrorCorrelation is the Pearson correlation of two members' error
// indicators (1 where a pair is ranked wrong, ties included) on one set,
// averaged over the pairs of averageable members (Pairs of them; members
// with no error or no success on the set are left out).
type ErrorCorrelation struct {
	Set   string  `json:"set"`
	Mean  float64 `json:"mean"`
	Pairs int     `json:"pairs"`
}

// errorCorrelation computes ErrorCorrelation for every set from the
// members' scores.
func errorCorrelation(man *sweep.Manifest, ms []scored, sets []*Set) []ErrorCorrelation {
	var out []ErrorCorrelation
	idx := man.Averageable()
	for _, s := range sets {
		errs := make([][]float64, 0, len(idx))
		for _, i := range idx {
			ps, ok := ms[i][s.Name]
			if !ok {
				continue
			}
			c := eval.Correct(ps.chosen, ps.rejected)
			e := make([]float64, len(c))
			for k, ok := range c {
				if !ok {
					e[k] = 1
				}
			}
			errs = append(errs, e)
		}
		ec := ErrorCorrelation{Set: s.Name}
		ec.Mean, ec.Pairs = eval.MeanCorrelation(errs)
		if ec.Pairs > 0 {
			out = append(out, ec)
		}
	}
	return out
}

// SetInfo names a set and its size.
type SetInfo struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Entry returns the entry named name.
func (r *Results) Entry(name string) *Entry {
	for i := range r.Entries {
		if r.Entries[i].Name == name {
			return &r.Entries[i]
		}
	}
	return nil
}

// scored holds a model's rewards on every set.
type scored map[string]pairScores

type pairScores struct{ chosen, rejected []float32 }

// evaluator scores models on the sets.
type evaluator struct {
	sets  []*Set
	batch int
}

func (e *evaluator) score(ctx context.Context, m *model.Model, only []string) (scored, error) {
	// The evaluation keeps members and averages alive while it builds
	// others; their activation memory is not worth keeping between sets of
	// passes (it made the demo's evaluation peak at 3.6 GB).
	defer m.FreeWorkspace()
	out := scored{}
	for _, s := range e.sets {
		if only != nil && !slices.Contains(only, s.Name) {
			continue
		}
		c, r, err := eval.ScorePairs(ctx, m, s.tok, e.batch)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.Name, err)
		}
		out[s.Name] = pairScores{c, r}
	}
	return out, nil
}

func results(sc scored, sets []*Set) []SetResult {
	var out []SetResult
	for _, s := range sets {
		ps, ok := sc[s.Name]
		if !ok {
			continue
		}
		sum := eval.Summarize(ps.chosen, ps.rejected)
		out = append(out, SetResult{Set: s.Name, N: sum.N, Accuracy: sum.Accuracy, StdErr: sum.StdErr, Ties: sum.Ties, correct: eval.Correct(ps.chosen, ps.rejected)})
	}
	return out
}

// ensemble averages the rewards of several scored models (ENS, with
// sweep.Mean's arithmetic).
func ensemble(parts []scored) scored {
	out := scored{}
	for name := range parts[0] {
		cs, rs := make([][]float32, len(parts)), make([][]float32, len(parts))
		for k, p := range parts {
			cs[k], rs[k] = p[name].chosen, p[name].rejected
		}
		out[name] = pairScores{toFloat32(sweep.Mean(cs)), toFloat32(sweep.Mean(rs))}
	}
	return out
}

func toFloat32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// Evaluate scores a trained sweep. sets are the evaluation sets (TrainSets
// plus the manifest's Eval sets, loaded by the caller).
func Evaluate(ctx context.Context, man *sweep.Manifest, sets []*Set, o EvalOptions) (*Results, error) {
	start := time.Now()
	pool := len(man.Averageable())
	if pool == 0 {
		return nil, errors.New("every member is a baseline: nothing to average")
	}
	o.defaults(pool)
	for _, M := range o.Ms {
		if M < 1 || M > pool {
			return nil, fmt.Errorf("ensemble size %d: the sweep has %d members to average", M, pool)
		}
	}
	if gpt2, err := isGPT2(man); err != nil {
		return nil, err
	} else if !gpt2 {
		return evaluateFamily(ctx, man, sets, o, start)
	}
	members := make([]*checkpoint.Checkpoint, len(man.Members))
	var tok *tokenizer.Tokenizer
	for i := range man.Members {
		ck, err := checkpoint.Load(man.MemberDir(i))
		if err != nil {
			return nil, fmt.Errorf("member %s: %w (train it with 'warm sweep run')", man.Members[i].Name, err)
		}
		members[i] = ck
		if tok == nil {
			tok = ck.Tokenizer
		} else if ck.Tokenizer == nil || ck.Tokenizer.Fingerprint() != tok.Fingerprint() {
			return nil, fmt.Errorf("member %s has another tokenizer than member %s", man.Members[i].Name, man.Members[0].Name)
		}
		if !sweep.SameArch(ck.Model.Config, members[0].Model.Config) {
			return nil, fmt.Errorf("member %s has another architecture than member %s", man.Members[i].Name, man.Members[0].Name)
		}
	}
	if tok == nil {
		return nil, errors.New("the members have no tokenizer")
	}
	maxLen := man.MaxLen
	if maxLen <= 0 {
		maxLen = members[0].Model.Config.NPositions
	}
	if err := tokenize(ctx, tok, sets, maxLen); err != nil {
		return nil, err
	}
	ev := &evaluation{
		evaluator: evaluator{sets: sets, batch: o.Batch},
		man:       man, members: members, o: o,
		res: &Results{Date: time.Now().UTC().Format(time.RFC3339), RankSet: o.RankSet},
	}
	res := ev.res
	for _, s := range sets {
		res.Sets = append(res.Sets, SetInfo{s.Name, len(s.Pairs)})
	}
	if err := ev.scoreMembers(ctx); err != nil {
		return nil, err
	}
	res.ErrorCorrelation = errorCorrelation(man, ev.mscores, sets)
	if err := ev.rankMembers(); err != nil {
		return nil, err
	}
	wa, err := model.New(sweep.Inference(members[0].Model.Config))
	if err != nil {
		return nil, err
	}
	for _, M := range o.Ms {
		if err := ev.averages(ctx, wa, M); err != nil {
			return nil, err
		}
	}
	if o.GreedySoup {
		err := ev.greedySoup(func(idx []int, only []string) (scored, error) {
			ms, names := ev.models(idx)
			if err := sweep.Average(wa, ms, names); err != nil {
				return nil, err
			}
			return ev.score(ctx, wa, only)
		})
		if err != nil {
			return nil, err
		}
	}
	// Inference cost: scoring 1,000 pairs of the first set with WA (one
	// model) and with ENS(M) (M models).
	if res.Costs, err = ev.measureCost(ctx, wa); err != nil {
		return nil, err
	}
	if res.LMC, err = ev.lmc(ctx); err != nil {
		return nil, err
	}
	res.Wall = time.Since(start).Round(time.Second).String()
	return res, nil
}

// evaluation is the state of one Evaluate call: the loaded members, their
// scores and ranking, and the results being filled in.
type evaluation struct {
	evaluator
	man     *sweep.Manifest
	members []*checkpoint.Checkpoint
	o       EvalOptions
	res     *Results
	mscores []scored // per manifest member
	rank    []int    // averageable members, best first
}

// scoreMembers scores every member (baselines too) on every set.
func (ev *evaluation) scoreMembers(ctx context.Context) error {
	ev.mscores = make([]scored, len(ev.members))
	for i, ck := range ev.members {
		sc, err := ev.score(ctx, ck.Model, nil)
		if err != nil {
			return fmt.Errorf("member %s: %w", ev.man.Members[i].Name, err)
		}
		ev.mscores[i] = sc
		ev.res.Entries = append(ev.res.Entries, Entry{Name: ev.man.Members[i].Name, Kind: sweep.KindMember, Results: results(sc, ev.sets)})
		pipeline.Logger(ev.o.Log).Info("scored", "model", ev.man.Members[i].Name)
	}
	return nil
}

// rankMembers ranks the averageable members by the rank set's accuracy;
// baselines are scored but not ranked (rank -1).
func (ev *evaluation) rankMembers() error {
	res := ev.res
	if _, ok := res.Entries[0].Result(ev.o.RankSet); !ok {
		return fmt.Errorf("rank set %q is not among the evaluation sets", ev.o.RankSet)
	}
	acc := make([]float64, len(ev.man.Members))
	for i := range acc {
		r, _ := res.Entries[i].Result(ev.o.RankSet)
		acc[i] = r.Accuracy
	}
	rank, err := ev.man.Rank(acc)
	if err != nil {
		return err
	}
	ev.rank = rank
	for pos, i := range rank {
		res.Members = append(res.Members, MemberInfo{Member: ev.man.Members[i], Rank: pos})
	}
	for _, mb := range ev.man.Members {
		if mb.Role == sweep.RoleBaseline {
			res.Members = append(res.Members, MemberInfo{Member: mb, Rank: -1})
		}
	}
	slices.SortFunc(res.Members, func(a, b MemberInfo) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// models returns the models and names of manifest members idx.
func (ev *evaluation) models(idx []int) ([]*model.Model, []string) {
	ms, names := make([]*model.Model, len(idx)), make([]string, len(idx))
	for k, i := range idx {
		ms[k], names[k] = ev.members[i].Model, ev.man.Members[i].Name
	}
	return ms, names
}

// averages scores WA(M) (weights averaged into wa) and ENS(M) over the top
// M members, and compares WA(M) with ENS(M), the best member and each
// baseline.
func (ev *evaluation) averages(ctx context.Context, wa *model.Model, M int) error {
	top, err := sweep.Top(ev.rank, M)
	if err != nil {
		return err
	}
	ms, names := ev.models(top)
	waName := sweep.WAName(M)
	if err := sweep.Average(wa, ms, names); err != nil {
		return fmt.Errorf("%s: %w", waName, err)
	}
	wsc, err := ev.score(ctx, wa, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", waName, err)
	}
	parts := make([]scored, M)
	for k, i := range top {
		parts[k] = ev.mscores[i]
	}
	ev.addAverages(M, names, wsc, ensemble(parts))
	return nil
}

// addAverages records WA(M) and ENS(M) of the members named names, with
// their scores, and their paired comparisons with ENS(M), the best member
// and every baseline on every set.
func (ev *evaluation) addAverages(M int, names []string, wsc, esc scored) {
	waName, ensName := sweep.WAName(M), sweep.ENSName(M)
	res := ev.res
	res.Entries = append(res.Entries,
		Entry{Name: waName, Kind: sweep.KindWA, M: M, Members: names, Results: results(wsc, ev.sets)},
		Entry{Name: ensName, Kind: sweep.KindENS, M: M, Members: names, Results: results(esc, ev.sets)})
	pipeline.Logger(ev.o.Log).Info("scored", "model", waName)
	pipeline.Logger(ev.o.Log).Info("scored", "model", ensName)
	best := res.Entries[ev.rank[0]].Name
	for _, s := range ev.sets {
		res.Comparisons = append(res.Comparisons, compare(res, waName, ensName, s.Name), compare(res, waName, best, s.Name))
		for _, mb := range ev.man.Members {
			if mb.Role == sweep.RoleBaseline {
				res.Comparisons = append(res.Comparisons, compare(res, waName, mb.Name, s.Name))
			}
		}
	}
}

func compare(res *Results, a, b, set string) Comparison {
	ra, _ := res.Entry(a).Result(set)
	rb, _ := res.Entry(b).Result(set)
	d, se := eval.PairedDiff(ra.correct, rb.correct)
	return Comparison{A: a, B: b, Set: set, Diff: d, StdErr: se}
}

// greedySoup adds the greedy soup: the members in rank order, each kept
// when the average so far with it does not score lower on the rank set;
// score(idx, only) scores the uniform average of manifest members idx on
// the sets named only (nil: every set).
func (ev *evaluation) greedySoup(score func(idx []int, only []string) (scored, error)) error {
	rankSet := ev.o.RankSet
	soup := []int{ev.rank[0]}
	bestAcc := math.Inf(-1)
	if r, ok := ev.res.Entries[ev.rank[0]].Result(rankSet); ok {
		bestAcc = r.Accuracy
	}
	for _, i := range ev.rank[1:] {
		cand := append(slices.Clone(soup), i)
		sc, err := score(cand, []string{rankSet})
		if err != nil {
			return fmt.Errorf("greedy soup: %w", err)
		}
		acc := eval.Summarize(sc[rankSet].chosen, sc[rankSet].rejected).Accuracy
		if acc >= bestAcc {
			soup, bestAcc = cand, acc
		}
	}
	sc, err := score(soup, nil)
	if err != nil {
		return fmt.Errorf("greedy soup: %w", err)
	}
	names := make([]string, len(soup))
	for k, i := range soup {
		names[k] = ev.man.Members[i].Name
	}
	ev.res.Entries = append(ev.res.Entries, Entry{Name: "soup", Kind: sweep.KindSoup, M: len(soup), Members: names, Results: results(sc, ev.sets)})
	return nil
}

// measureCost times scoring (up to) 1,000 pairs of the first set with wa
// and with each ENS(M).
func (ev *evaluation) measureCost(ctx context.Context, wa *model.Model) ([]Cost, error) {
	s := ev.sets[0]
	n := min(len(s.tok), 1000)
	sub := &evaluator{sets: []*Set{{Name: s.Name, tok: s.tok[:n]}}, batch: ev.batch}
	timeIt := func(ms ...*model.Model) (float64, error) {
		t0 := time.Now()
		for _, m := range ms {
			if _, err := sub.score(ctx, m, nil); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(t0).Microseconds()) / 1000 * 1000 / float64(n), nil
	}
	var out []Cost
	waMs, err := timeIt(wa)
	if err != nil {
		return nil, err
	}
	out = append(out, Cost{Name: "WA", M: 1, MsPer1000Pairs: waMs})
	for _, M := range ev.o.Ms {
		ms, _ := ev.models(ev.rank[:M])
		t, err := timeIt(ms...)
		if err != nil {
			return nil, err
		}
		out = append(out, Cost{Name: sweep.ENSName(M), M: M, MsPer1000Pairs: t})
	}
	return out, nil
}
