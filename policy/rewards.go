package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
)

// Rewards builds the reward choices of best-of-N and RL from a trained
// sweep: single members by rank, ENS(M) and WARM(M) over the top M members,
// and other checkpoints. Members are loaded once and shared, so the same
// member inside several choices is the same *RM.
type Rewards struct {
	// Manifest is the sweep (nil: only "rm:" and "gold" specs work).
	Manifest *sweep.Manifest
	// Ranking lists member indices, best first.
	Ranking []int
	// RankedBy says where the ranking came from.
	RankedBy string
	members  map[int]Reward // *RM (GPT-2) or *TextRM (other families)
	made     map[string]Reward
	// tmp holds the merged WARM(M) checkpoints of other families while
	// they are loaded.
	tmp string
}

// RankOptions says how to rank the members of a sweep.
type RankOptions struct {
	// Results is an experiment's results.json (its member ranks are used).
	// Empty: the default DIR/report/results.json of `warm experiment` beside
	// the sweep directory if it exists, else the members are ranked here.
	Results string
	// RankSet is the manifest evaluation set that ranks members when there
	// are no results (default "ood_dev"), with at most MaxPairs pairs (0:
	// 1000).
	RankSet  string
	MaxPairs int
	Log      *slog.Logger
}

// OpenRewards loads a sweep manifest and ranks its members.
func OpenRewards(ctx context.Context, manifestPath string, o RankOptions) (*Rewards, error) {
	man, err := sweep.Load(manifestPath)
	if err != nil {
		return nil, err
	}
	rs := &Rewards{Manifest: man, members: map[int]Reward{}, made: map[string]Reward{}}
	res := o.Results
	if res == "" {
		def := filepath.Join(filepath.Dir(filepath.Dir(manifestPath)), "report", "results.json")
		if _, err := os.Stat(def); err == nil {
			res = def
		}
	}
	if res != "" {
		if err := rs.rankFromResults(res); err != nil {
			return nil, err
		}
		return rs, nil
	}
	if err := rs.rankHere(ctx, o); err != nil {
		return nil, err
	}
	return rs, nil
}

// NewRewards returns a reward factory without a sweep ("rm:" and "gold"
// specs only).
func NewRewards() *Rewards {
	return &Rewards{members: map[int]Reward{}, made: map[string]Reward{}}
}

func (rs *Rewards) rankFromResults(path string) error {
	rank, set, err := rs.Manifest.ReadRanking(path)
	if err != nil {
		return err
	}
	rs.Ranking = rank
	rs.RankedBy = fmt.Sprintf("%s (%s accuracy)", path, set)
	return nil
}

// rankHere scores every member on the rank set.
func (rs *Rewards) rankHere(ctx context.Context, o RankOptions) error {
	set := o.RankSet
	if set == "" {
		set = sweep.DefaultRankSet
	}
	n := o.MaxPairs
	if n <= 0 {
		n = 1000
	}
	var path string
	for _, e := range rs.Manifest.Eval {
		if e.Name == set {
			path = rs.Manifest.Path(e.Path)
		}
	}
	if path == "" {
		return fmt.Errorf("sweep %s: no evaluation set %q to rank members by (give the experiment's results.json)", rs.Manifest.Out, set)
	}
	pairs, _, err := data.LoadPairs(path, data.LoadOptions{})
	if err != nil {
		return err
	}
	if len(pairs) > n {
		pairs = pairs[:n]
	}
	acc := make([]float64, len(rs.Manifest.Members))
	for _, i := range rs.Manifest.Averageable() {
		r, err := rs.member(i)
		if err != nil {
			return err
		}
		var c, rj []float32
		switch m := r.(type) {
		case *RM:
			maxLen := rs.Manifest.MaxLen
			if maxLen <= 0 {
				maxLen = m.Model.Config.NPositions
			}
			tp, _, err := data.TokenizePairs(ctx, m.Tok, pairs, maxLen)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			c, rj, err = eval.ScorePairs(ctx, m.Model, tp, 64)
			if err != nil {
				return fmt.Errorf("member %s: %w", rs.Manifest.Members[i].Name, err)
			}
		case *TextRM:
			if c, rj, err = m.S.ScorePairs(ctx, pairs, max(m.BatchSize, 1)); err != nil {
				return fmt.Errorf("member %s: %w", rs.Manifest.Members[i].Name, err)
			}
		}
		acc[i] = eval.Summarize(c, rj).Accuracy
		pipeline.Logger(o.Log).Info("rank", "member", rs.Manifest.Members[i].Name, "set", set, "accuracy", fmt.Sprintf("%.4f", acc[i]))
	}
	rank, err := rs.Manifest.Rank(acc)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", rs.Manifest.Out, err)
	}
	rs.Ranking = rank
	rs.RankedBy = fmt.Sprintf("%s accuracy on %d pairs of %s", set, len(pairs), path)
	return nil
}

// member loads member i (manifest index) once: a GPT-2 checkpoint as an
// RM, any other family as a TextRM.
func (rs *Rewards) member(i int) (Reward, error) {
	if rm, ok := rs.members[i]; ok {
		return rm, nil
	}
	name := rs.Manifest.Members[i].Name
	dir := rs.Manifest.MemberDir(i)
	typ, err := checkpoint.ModelType(dir)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w (train it with 'warm sweep run')", name, err)
	}
	var rm Reward
	if typ == "gpt2" {
		rm, err = LoadRM(name, dir)
	} else {
		rm, err = LoadTextRM(name, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", name, err)
	}
	rs.members[i] = rm
	return rm, nil
}

// Ranked returns the member of rank r (0 is the best).
func (rs *Rewards) Ranked(r int) (Reward, error) {
	if rs.Manifest == nil {
		return nil, errors.New("no sweep: give a sweep manifest")
	}
	if r < 0 || r >= len(rs.Ranking) {
		return nil, fmt.Errorf("member rank %d: the sweep has %d members", r, len(rs.Ranking))
	}
	return rs.member(rs.Ranking[r])
}

// top returns the M best members (and their manifest indices).
func (rs *Rewards) top(M int) ([]Reward, []int, error) {
	if rs.Manifest == nil {
		return nil, nil, errors.New("no sweep: give a sweep manifest")
	}
	idx, err := sweep.Top(rs.Ranking, M)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Reward, M)
	for k, i := range idx {
		rm, err := rs.member(i)
		if err != nil {
			return nil, nil, err
		}
		out[k] = rm
	}
	return out, idx, nil
}

// WARM returns the weight average of the top M members (uniform, the
// arithmetic of `warm merge`) as one reward model: averaged in memory for
// GPT-2 members (merge.AverageFloat32), written by merge.Run into a
// temporary directory and loaded for other families (the bytes `warm
// merge` writes; Close removes the directory).
func (rs *Rewards) WARM(M int) (Reward, error) {
	top, idx, err := rs.top(M)
	if err != nil {
		return nil, err
	}
	names := make([]string, M)
	for k, r := range top {
		names[k] = r.Name()
	}
	if _, ok := top[0].(*RM); !ok {
		return rs.mergedWARM(M, idx, names)
	}
	models := make([]*model.Model, M)
	first := top[0].(*RM)
	for k, r := range top {
		rm, ok := r.(*RM)
		if !ok {
			return nil, fmt.Errorf("WARM(%d): member %s is not a GPT-2 model like %s", M, r.Name(), first.Name())
		}
		if rm.Tok.Fingerprint() != first.Tok.Fingerprint() {
			return nil, fmt.Errorf("WARM(%d): member %s has another tokenizer than %s", M, rm.Name(), first.Name())
		}
		models[k] = rm.Model
	}
	m, err := sweep.NewAverage(models, names)
	if err != nil {
		return nil, fmt.Errorf("WARM(%d): %w", M, err)
	}
	rm, err := NewRM(sweep.WARMRewardName(M), m, first.Tok)
	if err != nil {
		return nil, err
	}
	rm.Members = names
	rm.Pack = true
	return rm, nil
}

// mergedWARM is WARM(M) of members of another family than GPT-2.
func (rs *Rewards) mergedWARM(M int, idx []int, names []string) (Reward, error) {
	if rs.tmp == "" {
		dir, err := os.MkdirTemp("", "warm-rewards-")
		if err != nil {
			return nil, fmt.Errorf("WARM(%d): %w", M, err)
		}
		rs.tmp = dir
	}
	dirs := make([]string, M)
	for k, i := range idx {
		dirs[k] = rs.Manifest.MemberDir(i)
	}
	out := filepath.Join(rs.tmp, fmt.Sprintf("warm-%d", M))
	foreign, err := rs.Manifest.ForeignMembers()
	if err != nil {
		return nil, fmt.Errorf("WARM(%d): %w", M, err)
	}
	if _, err := merge.Run(context.Background(), out, dirs, merge.Options{IgnoreBaseFingerprint: foreign, NoSync: true}); err != nil {
		return nil, fmt.Errorf("WARM(%d): %w", M, err)
	}
	rm, err := LoadTextRM(sweep.WARMRewardName(M), out)
	if err != nil {
		return nil, err
	}
	return rm, nil
}

// Close removes the temporary checkpoints WARM wrote (members of other
// families than GPT-2); the rewards already loaded keep working.
func (rs *Rewards) Close() error {
	if rs.tmp == "" {
		return nil
	}
	err := os.RemoveAll(rs.tmp)
	rs.tmp = ""
	return err
}

// ENS returns the prediction ensemble of the top M members.
func (rs *Rewards) ENS(M int) (*Ensemble, error) {
	top, _, err := rs.top(M)
	if err != nil {
		return nil, err
	}
	return NewEnsemble(sweep.ENSRewardName(M), top)
}

// Parse returns the reward a spec names:
//
//	best         the member ranked first (= member:0)
//	member:K     the member of rank K (0 is the best)
//	ens:M        ENS(M): mean reward of the top M members
//	warm:M       WARM(M): weight average of the top M members
//	rm:PATH      any reward-model checkpoint directory
//	fluency:PATH a language model's mean log-probability per response token
//	             (a control that is not a reward model; scorer.Fluency)
//	http://HOST:PORT  a reward served by warm serve
//	gold         the synthetic task's gold reward
//
// The same spec returns the same Reward.
func (rs *Rewards) Parse(spec string) (Reward, error) {
	if r, ok := rs.made[spec]; ok {
		return r, nil
	}
	r, err := rs.parse(spec)
	if err != nil {
		return nil, fmt.Errorf("reward %q: %w", spec, err)
	}
	rs.made[spec] = r
	return r, nil
}

func (rs *Rewards) parse(spec string) (Reward, error) {
	kind, arg, hasArg := strings.Cut(spec, ":")
	num := func() (int, error) {
		if !hasArg {
			return 0, fmt.Errorf("%s needs a number (%s:N)", kind, kind)
		}
		n, err := strconv.Atoi(arg)
		if err != nil {
			return 0, fmt.Errorf("bad number %q", arg)
		}
		return n, nil
	}
	switch kind {
	case "http", "https":
		return NewServed(spec), nil
	case "gold":
		return Gold{}, nil
	case "best":
		rm, err := rs.Ranked(0)
		if err != nil {
			return nil, err
		}
		return renamed(rm, "best"), nil
	case "member":
		k, err := num()
		if err != nil {
			return nil, err
		}
		rm, err := rs.Ranked(k)
		if err != nil {
			return nil, err
		}
		return renamed(rm, fmt.Sprintf("member%d", k)), nil
	case "ens":
		M, err := num()
		if err != nil {
			return nil, err
		}
		return rs.ENS(M)
	case "warm":
		M, err := num()
		if err != nil {
			return nil, err
		}
		return rs.WARM(M)
	case "rm":
		if !hasArg || arg == "" {
			return nil, errors.New("rm needs a checkpoint directory (rm:PATH)")
		}
		name := filepath.Base(filepath.Clean(arg))
		typ, err := checkpoint.ModelType(arg)
		if err != nil {
			return nil, fmt.Errorf("%s is not a checkpoint directory: %w", arg, err)
		}
		if typ != "gpt2" {
			return LoadTextRM(name, arg)
		}
		return LoadRM(name, arg)
	case "fluency":
		if !hasArg || arg == "" {
			return nil, errors.New("fluency needs a language-model checkpoint directory (fluency:PATH)")
		}
		return LoadFluency("fluency-"+filepath.Base(filepath.Clean(arg)), arg)
	}
	return nil, fmt.Errorf("unknown kind %q (best, member:K, ens:M, warm:M, rm:PATH, fluency:PATH, http://HOST:PORT, gold)", kind)
}

// Named is a reward under another name (the same scores).
type Named struct {
	Reward
	name string
}

// Name implements Reward.
func (n Named) Name() string { return n.name }

func renamed(r Reward, name string) Reward { return Named{Reward: r, name: name} }

// Underlying returns the reward a Named wraps (r itself otherwise).
func Underlying(r Reward) Reward {
	for {
		n, ok := r.(Named)
		if !ok {
			return r
		}
		r = n.Reward
	}
}

// BoNSpecs fills the rewards of a best-of-N run from specs (see Parse): the
// proxy rewards, the top members members scored for MemberErrors (0:
// none), the control reward, and the comparisons (A=B spec pairs; nil
// compares as DefaultComparisons does).
func (rs *Rewards) BoNSpecs(o *BoNOptions, specs []string, members int, control string, compare []string) error {
	byName := map[string]string{}
	for _, spec := range specs {
		r, err := rs.Parse(spec)
		if err != nil {
			return err
		}
		o.Rewards = append(o.Rewards, r)
		byName[spec] = r.Name()
	}
	for k := 0; k < members; k++ {
		r, err := rs.Parse(fmt.Sprintf("member:%d", k))
		if err != nil {
			return fmt.Errorf("--member-errors: %w", err)
		}
		o.Members = append(o.Members, r)
	}
	var err error
	if o.Control, err = rs.Parse(control); err != nil {
		return fmt.Errorf("control: %w", err)
	}
	if compare == nil {
		compare = DefaultComparisons(specs)
	}
	if o.Compare, err = ParseComparisons(compare, byName); err != nil {
		return fmt.Errorf("--compare: %w", err)
	}
	return nil
}
