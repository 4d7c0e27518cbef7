package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/tokenizer"
)

// Options sets up the evaluation of a sweep.
type Options struct {
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
	// RankSet ranks members (default "ood_dev").
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
	Log   func(format string, args ...any)
}

func (o *Options) defaults(n int) {
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
		o.RankSet = "ood_dev"
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

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
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
	Kind    string      `json:"kind"` // "member", "wa", "ens", "soup"
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

// MemberInfo describes a member of the sweep.
type MemberInfo struct {
	sweep.Member
	Rank int `json:"rank"` // 0 is the best on the rank set
}

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
	Wall        string       `json:"wall"`
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
	pad   int
	batch int
}

func (e *evaluator) score(ctx context.Context, m *model.Model, only []string) (scored, error) {
	out := scored{}
	for _, s := range e.sets {
		if only != nil && !slices.Contains(only, s.Name) {
			continue
		}
		c, r, err := eval.ScorePairs(ctx, m, s.tok, e.pad, e.batch)
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

// ensemble averages the rewards of several scored models.
func ensemble(parts []scored) scored {
	out := scored{}
	for name := range parts[0] {
		n := len(parts[0][name].chosen)
		c, r := make([]float32, n), make([]float32, n)
		for i := 0; i < n; i++ {
			var sc, sr float64
			for _, p := range parts {
				sc += float64(p[name].chosen[i])
				sr += float64(p[name].rejected[i])
			}
			c[i], r[i] = float32(sc/float64(len(parts))), float32(sr/float64(len(parts)))
		}
		out[name] = pairScores{c, r}
	}
	return out
}

// Evaluate scores a trained sweep. sets are the evaluation sets (TrainSets
// plus the manifest's Eval sets, loaded by the caller).
func Evaluate(ctx context.Context, man *sweep.Manifest, sets []*Set, o Options) (*Results, error) {
	start := time.Now()
	pool := 0
	for _, mb := range man.Members {
		if mb.Role != sweep.RoleBaseline {
			pool++
		}
	}
	if pool == 0 {
		return nil, errors.New("every member is a baseline: nothing to average")
	}
	o.defaults(pool)
	for _, M := range o.Ms {
		if M < 1 || M > pool {
			return nil, fmt.Errorf("ensemble size %d: the sweep has %d members to average", M, pool)
		}
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
		if !sameArch(ck.Model.Config, members[0].Model.Config) {
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
	ev := &evaluator{sets: sets, pad: tok.Pad(), batch: o.Batch}
	res := &Results{Date: time.Now().UTC().Format(time.RFC3339), RankSet: o.RankSet}
	for _, s := range sets {
		res.Sets = append(res.Sets, SetInfo{s.Name, len(s.Pairs)})
	}

	// Members.
	mscores := make([]scored, len(members))
	for i, ck := range members {
		sc, err := ev.score(ctx, ck.Model, nil)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", man.Members[i].Name, err)
		}
		mscores[i] = sc
		res.Entries = append(res.Entries, Entry{Name: man.Members[i].Name, Kind: "member", Results: results(sc, sets)})
		o.logf("scored %s", man.Members[i].Name)
	}
	// Rank the averageable members by the rank set's accuracy (stable on
	// ties: manifest order); baselines are scored but not ranked.
	var rank []int
	for i, mb := range man.Members {
		if mb.Role != sweep.RoleBaseline {
			rank = append(rank, i)
		}
	}
	rankAcc := func(i int) float64 {
		r, ok := res.Entries[i].Result(o.RankSet)
		if !ok {
			return 0
		}
		return r.Accuracy
	}
	if _, ok := res.Entries[0].Result(o.RankSet); !ok {
		return nil, fmt.Errorf("rank set %q is not among the evaluation sets", o.RankSet)
	}
	sort.SliceStable(rank, func(a, b int) bool { return rankAcc(rank[a]) > rankAcc(rank[b]) })
	for pos, i := range rank {
		res.Members = append(res.Members, MemberInfo{Member: man.Members[i], Rank: pos})
	}
	for _, mb := range man.Members {
		if mb.Role == sweep.RoleBaseline {
			res.Members = append(res.Members, MemberInfo{Member: mb, Rank: -1})
		}
	}
	slices.SortFunc(res.Members, func(a, b MemberInfo) int { return cmpName(a.Name, b.Name) })

	// WA(M) and ENS(M) over the top M.
	cfg := members[0].Model.Config
	wa, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	flats := func(idx []int) [][]float32 {
		out := make([][]float32, len(idx))
		for k, i := range idx {
			out[k] = members[i].Model.Flat
		}
		return out
	}
	names := func(idx []int) []string {
		out := make([]string, len(idx))
		for k, i := range idx {
			out[k] = man.Members[i].Name
		}
		return out
	}
	best := res.Entries[rank[0]].Name
	for _, M := range o.Ms {
		top := rank[:M]
		if err := merge.AverageFloat32(wa.Flat, flats(top), nil); err != nil {
			return nil, fmt.Errorf("WA(%d): %w", M, err)
		}
		wsc, err := ev.score(ctx, wa, nil)
		if err != nil {
			return nil, fmt.Errorf("WA(%d): %w", M, err)
		}
		parts := make([]scored, M)
		for k, i := range top {
			parts[k] = mscores[i]
		}
		esc := ensemble(parts)
		waName, ensName := fmt.Sprintf("WA(%d)", M), fmt.Sprintf("ENS(%d)", M)
		res.Entries = append(res.Entries,
			Entry{Name: waName, Kind: "wa", M: M, Members: names(top), Results: results(wsc, sets)},
			Entry{Name: ensName, Kind: "ens", M: M, Members: names(top), Results: results(esc, sets)})
		o.logf("scored %s and %s", waName, ensName)
		for _, s := range sets {
			res.Comparisons = append(res.Comparisons, compare(res, waName, ensName, s.Name), compare(res, waName, best, s.Name))
			for _, mb := range man.Members {
				if mb.Role == sweep.RoleBaseline {
					res.Comparisons = append(res.Comparisons, compare(res, waName, mb.Name, s.Name))
				}
			}
		}
	}
	if o.GreedySoup {
		if err := greedySoup(ctx, res, ev, wa, members, man, rank, o, sets); err != nil {
			return nil, err
		}
	}
	// Inference cost: scoring 1,000 pairs of the first set with WA (one
	// model) and with ENS(M) (M models).
	if cost, err := measureCost(ctx, ev, wa, members, rank, o.Ms); err == nil {
		res.Costs = cost
	} else {
		return nil, err
	}
	// LMC.
	curves, err := lmc(ctx, ev, man, members, mscores, sets, o)
	if err != nil {
		return nil, err
	}
	res.LMC = curves
	res.Wall = time.Since(start).Round(time.Second).String()
	return res, nil
}

// sameArch compares two configurations ignoring dropout, which members
// may differ in.
func sameArch(a, b model.Config) bool {
	a.EmbdPdrop, a.AttnPdrop, a.ResidPdrop = 0, 0, 0
	b.EmbdPdrop, b.AttnPdrop, b.ResidPdrop = 0, 0, 0
	return a == b
}

func cmpName(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func compare(res *Results, a, b, set string) Comparison {
	ra, _ := res.Entry(a).Result(set)
	rb, _ := res.Entry(b).Result(set)
	d, se := eval.PairedDiff(ra.correct, rb.correct)
	return Comparison{A: a, B: b, Set: set, Diff: d, StdErr: se}
}

func greedySoup(ctx context.Context, res *Results, ev *evaluator, wa *model.Model, members []*checkpoint.Checkpoint, man *sweep.Manifest, rank []int, o Options, sets []*Set) error {
	soup := []int{rank[0]}
	bestAcc := math.Inf(-1)
	if r, ok := res.Entries[rank[0]].Result(o.RankSet); ok {
		bestAcc = r.Accuracy
	}
	for _, i := range rank[1:] {
		cand := append(slices.Clone(soup), i)
		srcs := make([][]float32, len(cand))
		for k, j := range cand {
			srcs[k] = members[j].Model.Flat
		}
		if err := merge.AverageFloat32(wa.Flat, srcs, nil); err != nil {
			return err
		}
		sc, err := ev.score(ctx, wa, []string{o.RankSet})
		if err != nil {
			return err
		}
		acc := eval.Summarize(sc[o.RankSet].chosen, sc[o.RankSet].rejected).Accuracy
		if acc >= bestAcc {
			soup, bestAcc = cand, acc
		}
	}
	srcs := make([][]float32, len(soup))
	names := make([]string, len(soup))
	for k, j := range soup {
		srcs[k] = members[j].Model.Flat
		names[k] = man.Members[j].Name
	}
	if err := merge.AverageFloat32(wa.Flat, srcs, nil); err != nil {
		return err
	}
	sc, err := ev.score(ctx, wa, nil)
	if err != nil {
		return err
	}
	res.Entries = append(res.Entries, Entry{Name: "soup", Kind: "soup", M: len(soup), Members: names, Results: results(sc, sets)})
	return nil
}

func measureCost(ctx context.Context, ev *evaluator, wa *model.Model, members []*checkpoint.Checkpoint, rank []int, Ms []int) ([]Cost, error) {
	s := ev.sets[0]
	n := min(len(s.tok), 1000)
	sub := &evaluator{sets: []*Set{{Name: s.Name, tok: s.tok[:n]}}, pad: ev.pad, batch: ev.batch}
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
	for _, M := range Ms {
		ms := make([]*model.Model, M)
		for k, i := range rank[:M] {
			ms[k] = members[i].Model
		}
		t, err := timeIt(ms...)
		if err != nil {
			return nil, err
		}
		out = append(out, Cost{Name: fmt.Sprintf("ENS(%d)", M), M: M, MsPer1000Pairs: t})
	}
	return out, nil
}
