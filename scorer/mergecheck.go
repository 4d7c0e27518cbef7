package scorer

import (
	"context"
	"fmt"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
)

// ModelScore is one model's pairwise accuracy on a pair set.
type ModelScore struct {
	Path       string  `json:"path"`
	Accuracy   float64 `json:"accuracy"`
	StdErr     float64 `json:"stderr"`
	MeanMargin float64 `json:"mean_margin"`
}

// MergeCheck is WARM's precondition checked on a merge: the weight average
// must score about as well as its members do on average (linear mode
// connectivity). Members fine-tuned from different pre-trained models, or
// averaged in a way that breaks them, give an average far worse than any
// member, which no tensor-level check can see.
type MergeCheck struct {
	Pairs   int          `json:"pairs"`
	Members []ModelScore `json:"members"`
	// MeanMember is the members' mean accuracy.
	MeanMember float64    `json:"mean_member_accuracy"`
	Merged     ModelScore `json:"merged"`
	// Tolerance is how far below MeanMember (and Previous) the merge may
	// score.
	Tolerance float64 `json:"tolerance"`
	// Previous is, for a running merge (merge --into), the score of the
	// published average the members are added to, which stands for its
	// PreviousCount members: MeanMember then weighs it by PreviousCount
	// and each added member by 1, and the new average must also score no
	// more than Tolerance below Previous.
	Previous      *ModelScore `json:"previous,omitempty"`
	PreviousCount int         `json:"previous_count,omitempty"`
	Passed        bool        `json:"passed"`
}

// Err returns nil when the check passed, else an error that says what the
// numbers were and what to do.
func (c *MergeCheck) Err() error {
	if c.Passed {
		return nil
	}
	if c.Previous != nil && c.Merged.Accuracy < c.Previous.Accuracy-c.Tolerance {
		return fmt.Errorf("the new average's pairwise accuracy %.4f is %.4f below the published average's %.4f (%s, %d members) on %d pairs (tolerance %.4f): "+
			"adding these members would make the published model worse; nothing was written. Score the added members alone (warm eval), "+
			"or pass a larger --check-tol if the pair set is small",
			c.Merged.Accuracy, c.Previous.Accuracy-c.Merged.Accuracy, c.Previous.Accuracy, c.Previous.Path, c.PreviousCount, c.Pairs, c.Tolerance)
	}
	return fmt.Errorf("the merge's pairwise accuracy %.4f is %.4f below the members' mean %.4f on %d pairs (tolerance %.4f): "+
		"the members are likely not linearly mode connected (fine-tuned from different pre-trained models?); "+
		"look at the path between two of them with warm merge --lambda, or pass a larger --check-tol if the pair set is small",
		c.Merged.Accuracy, c.MeanMember-c.Merged.Accuracy, c.MeanMember, c.Pairs, c.Tolerance)
}

// CheckMerge scores every member and the merged checkpoint on pairs (one
// model in memory at a time) and compares the merge's accuracy with the
// members' mean: it passes when merged ≥ mean − tol.
func CheckMerge(ctx context.Context, members []string, merged string, pairs []data.Pair, tol float64, batch int) (*MergeCheck, error) {
	if len(pairs) == 0 {
		return nil, fmt.Errorf("merge check: no pairs to score")
	}
	c := &MergeCheck{Pairs: len(pairs), Tolerance: tol}
	for _, m := range members {
		s, err := scorePairsWith(ctx, m, pairs, batch)
		if err != nil {
			return nil, fmt.Errorf("merge check: member %w", err)
		}
		c.Members = append(c.Members, s)
		c.MeanMember += s.Accuracy / float64(len(members))
	}
	s, err := scorePairsWith(ctx, merged, pairs, batch)
	if err != nil {
		return nil, fmt.Errorf("merge check: merged model %w", err)
	}
	c.Merged = s
	c.Passed = s.Accuracy >= c.MeanMember-tol
	return c, nil
}

// CheckRunningMerge is CheckMerge for a running merge (merge --into): the
// published average previous, a uniform merge of count members, gets the
// members added and becomes merged. The earlier members need not be at
// hand: previous stands for them. The check passes when merged scores no
// more than tol below the mean of its constituents' accuracies, previous
// weighted by count and each added member by 1 (WARM's precondition, with
// previous's accuracy standing for its members' mean, which it usually
// exceeds, so the check is the stricter for it), and no more than tol below
// previous (publishing it would make the served model worse).
func CheckRunningMerge(ctx context.Context, previous string, count int, members []string, merged string, pairs []data.Pair, tol float64, batch int) (*MergeCheck, error) {
	if count < 1 {
		return nil, fmt.Errorf("merge check: the previous average stands for %d members", count)
	}
	c, err := CheckMerge(ctx, members, merged, pairs, tol, batch)
	if err != nil {
		return nil, err
	}
	p, err := scorePairsWith(ctx, previous, pairs, batch)
	if err != nil {
		return nil, fmt.Errorf("merge check: previous average %w", err)
	}
	sum := float64(count) * p.Accuracy
	for _, m := range c.Members {
		sum += m.Accuracy
	}
	c.Previous, c.PreviousCount = &p, count
	c.MeanMember = sum / float64(count+len(c.Members))
	c.Passed = c.Merged.Accuracy >= c.MeanMember-tol && c.Merged.Accuracy >= p.Accuracy-tol
	return c, nil
}

// scorePairsWith loads the reward model at path and scores the pairs.
func scorePairsWith(ctx context.Context, path string, pairs []data.Pair, batch int) (ModelScore, error) {
	s, err := Load(path)
	if err != nil {
		return ModelScore{}, err
	}
	chosen, rejected, err := s.ScorePairs(ctx, pairs, batch)
	if err != nil {
		return ModelScore{}, err
	}
	sum := eval.Summarize(chosen, rejected)
	return ModelScore{Path: path, Accuracy: sum.Accuracy, StdErr: sum.StdErr, MeanMargin: sum.MeanMargin}, nil
}

// ScorePairs returns the rewards of the chosen and rejected response of
// every pair (each prompt + response encoded as EncodePair does).
func (s *Scorer) ScorePairs(ctx context.Context, pairs []data.Pair, batch int) (chosen, rejected []float32, err error) {
	seqs := make([][]int32, 0, 2*len(pairs))
	for _, p := range pairs {
		for _, resp := range []string{p.Chosen, p.Rejected} {
			ids, err := s.Encode(Record{Source: p.Source, Prompt: &p.Prompt, Response: &resp})
			if err != nil {
				return nil, nil, err
			}
			seqs = append(seqs, ids)
		}
	}
	r, err := s.Rewards(ctx, seqs, batch)
	if err != nil {
		return nil, nil, err
	}
	chosen, rejected = make([]float32, len(pairs)), make([]float32, len(pairs))
	for i := range pairs {
		chosen[i], rejected[i] = r[2*i], r[2*i+1]
	}
	return chosen, rejected, nil
}
