package experiment

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/warm-rm/warm/data"
)

// Set is an evaluation set: pairs scored against their labels.
type Set struct {
	Name  string
	Pairs []data.Pair
	tok   []data.TokPair
}

// Names of the sets derived from the training pairs, and of the ID and OOD
// test sets the observations and the verdict compare on.
const (
	SetTrainClean   = "train_clean"   // uncorrupted training pairs
	SetTrainFlipped = "train_flipped" // corrupted pairs, scored against the flipped label: memorisation
	SetIDTest       = "test"          // the in-distribution test set every task names so
	SetOODTest      = "ood_test"      // the out-of-distribution test set every task names so
)

// subsample returns at most n pairs, a seeded random subset in the original
// order (all of them when n <= 0 or n >= len).
func subsample(pairs []data.Pair, n int, seed uint64) []data.Pair {
	if n <= 0 || n >= len(pairs) {
		return pairs
	}
	perm := rand.New(rand.NewPCG(seed, 0xe7a1)).Perm(len(pairs))[:n]
	keep := make([]bool, len(pairs))
	for _, i := range perm {
		keep[i] = true
	}
	out := make([]data.Pair, 0, n)
	for i, p := range pairs {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out
}

// TrainSets splits (already corrupted) training pairs into the clean and
// the flipped set, each subsampled to at most n pairs.
func TrainSets(pairs []data.Pair, n int, seed uint64) []*Set {
	var clean, flipped []data.Pair
	for _, p := range pairs {
		if p.Flipped {
			flipped = append(flipped, p)
		} else {
			clean = append(clean, p)
		}
	}
	out := []*Set{{Name: SetTrainClean, Pairs: subsample(clean, n, seed)}}
	if len(flipped) > 0 {
		out = append(out, &Set{Name: SetTrainFlipped, Pairs: subsample(flipped, n, seed+1)})
	}
	return out
}

// tokenize prepares every set for scoring.
func tokenize(ctx context.Context, enc data.Encoder, sets []*Set, maxLen int) error {
	for _, s := range sets {
		tp, _, err := data.TokenizePairs(ctx, enc, s.Pairs, maxLen)
		if err != nil {
			return fmt.Errorf("set %s: %w", s.Name, err)
		}
		s.tok = tp
	}
	return nil
}
