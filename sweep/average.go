package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/model"
)

// This file is the one home of "rank the members, take the top M, build
// WA(M) and ENS(M)": the experiment's evaluation and policy's reward choices
// both go through it, so a member set means the same models everywhere.

// Kind is what an evaluated model is: one member, a weight average, a
// prediction ensemble or the greedy soup. Its values are the strings stored
// in results.json.
type Kind string

// The kinds of evaluated models.
const (
	KindMember Kind = "member"
	KindWA     Kind = "wa"
	KindENS    Kind = "ens"
	KindSoup   Kind = "soup"
)

// DefaultRankSet is the evaluation set that ranks members when none is
// named: the OOD dev split, as the paper ranks on OOD validation accuracy.
const DefaultRankSet = "ood_dev"

// WAName and ENSName are the display names of WA(M) and ENS(M) in reports and
// results.json.
func WAName(M int) string { return fmt.Sprintf("WA(%d)", M) }

// ENSName: see WAName.
func ENSName(M int) string { return fmt.Sprintf("ENS(%d)", M) }

// WARMRewardName and ENSRewardName are the identifiers of the same models as
// best-of-N and RL rewards (the spec warm:M gives reward "warmM"): they are
// keys in bon.json and rl.json, so they keep their spelling.
func WARMRewardName(M int) string { return fmt.Sprintf("warm%d", M) }

// ENSRewardName: see WARMRewardName.
func ENSRewardName(M int) string { return fmt.Sprintf("ens%d", M) }

// Averageable returns the indices of the members that may enter an average:
// every member but the baselines, in manifest order.
func (m *Manifest) Averageable() []int {
	var out []int
	for i, mb := range m.Members {
		if mb.Role != RoleBaseline {
			out = append(out, i)
		}
	}
	return out
}

// Rank orders the averageable members best first by score (one score per
// manifest member, e.g. the rank set's accuracy; baselines' scores are
// ignored). Ties keep manifest order, so a ranking is deterministic.
func (m *Manifest) Rank(score []float64) ([]int, error) {
	if len(score) != len(m.Members) {
		return nil, fmt.Errorf("ranking %d members with %d scores", len(m.Members), len(score))
	}
	rank := m.Averageable()
	if len(rank) == 0 {
		return nil, errors.New("every member is a baseline: nothing to average")
	}
	sort.SliceStable(rank, func(a, b int) bool { return score[rank[a]] > score[rank[b]] })
	return rank, nil
}

// Top returns the first M entries of a ranking, checking M.
func Top(rank []int, M int) ([]int, error) {
	if M < 1 || M > len(rank) {
		return nil, fmt.Errorf("M = %d: the sweep has %d members to average", M, len(rank))
	}
	return rank[:M], nil
}

// SameArch reports whether two configurations describe the same
// architecture; dropout, which members may differ in, is ignored.
func SameArch(a, b model.Config) bool {
	return Inference(a) == Inference(b)
}

// Inference returns c with dropout off: the configuration of a merged model.
func Inference(c model.Config) model.Config {
	c.EmbdPdrop, c.AttnPdrop, c.ResidPdrop = 0, 0, 0
	return c
}

// Average writes the uniform weight average of members into dst (WA:
// merge.AverageFloat32, the arithmetic of `warm merge`). names label the
// members in errors; dst must have their architecture. Weights dst held
// packed for inference (PackForInference) are dropped with its old weights.
func Average(dst *model.Model, members []*model.Model, names []string) error {
	if len(members) == 0 {
		return errors.New("weight average of no members")
	}
	srcs := make([][]float32, len(members))
	for k, mb := range members {
		if !SameArch(mb.Config, members[0].Config) {
			return fmt.Errorf("member %s has another architecture than member %s", names[k], names[0])
		}
		srcs[k] = mb.Flat
	}
	if !SameArch(dst.Config, members[0].Config) {
		return fmt.Errorf("the average's architecture differs from member %s's", names[0])
	}
	// New weights: a packed copy of the old ones would be stale.
	dst.Unpack()
	return merge.AverageFloat32(dst.Flat, srcs, nil)
}

// NewAverage returns a fresh model holding the uniform weight average of
// members, with dropout off.
func NewAverage(members []*model.Model, names []string) (*model.Model, error) {
	if len(members) == 0 {
		return nil, errors.New("weight average of no members")
	}
	m, err := model.New(Inference(members[0].Config))
	if err != nil {
		return nil, err
	}
	if err := Average(m, members, names); err != nil {
		return nil, err
	}
	return m, nil
}

// Mean is ENS's arithmetic: the element-wise mean of equal-length score
// vectors, summed in float64 in member order, so the ensemble of the same
// members in the same order gives the same bits everywhere.
func Mean[T float32 | float64](parts [][]T) []float64 {
	out := make([]float64, len(parts[0]))
	for _, p := range parts {
		for i, v := range p {
			out[i] += float64(v)
		}
	}
	for i := range out {
		out[i] /= float64(len(parts))
	}
	return out
}

// MemberRank is a member with its rank (0 is the best on the rank set; -1
// for a baseline, which is scored but never averaged). results.json lists
// the members so.
type MemberRank struct {
	Member
	Rank int `json:"rank"`
}

// ReadRanking reads the member ranking of an evaluation's results.json
// (written by `warm report` or `warm experiment`) and checks it against m:
// it returns the averageable members' manifest indices, best first, and the
// set they were ranked by.
func (m *Manifest) ReadRanking(path string) (rank []int, rankSet string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("member ranking: %w", err)
	}
	var doc struct {
		Results *struct {
			RankSet string       `json:"rank_set"`
			Members []MemberRank `json:"members"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if doc.Results == nil {
		return nil, "", fmt.Errorf("%s: no results", path)
	}
	byName := map[string]int{}
	for i, mb := range m.Members {
		byName[mb.Name] = i
	}
	rank = make([]int, len(m.Averageable()))
	for i := range rank {
		rank[i] = -1
	}
	for _, mb := range doc.Results.Members {
		i, ok := byName[mb.Name]
		if !ok {
			return nil, "", fmt.Errorf("%s: member %q is not in the sweep manifest", path, mb.Name)
		}
		if m.Members[i].Role == RoleBaseline {
			continue // scored, never averaged
		}
		if mb.Rank < 0 || mb.Rank >= len(rank) || rank[mb.Rank] != -1 {
			return nil, "", fmt.Errorf("%s: member %q has a bad or repeated rank %d", path, mb.Name, mb.Rank)
		}
		rank[mb.Rank] = i
	}
	for r, i := range rank {
		if i < 0 {
			return nil, "", fmt.Errorf("%s: no member has rank %d (the results are for another sweep?)", path, r)
		}
	}
	return rank, doc.Results.RankSet, nil
}
