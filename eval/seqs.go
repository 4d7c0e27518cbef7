package eval

import (
	"context"
	"fmt"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// ScoreSeqs returns the reward of every single sequence (prompt + response
// + EOS, as data.Seq lays it out), computed without dropout in batches of
// batchSize sequences: what best-of-N and RL need to score policy samples.
func ScoreSeqs(ctx context.Context, m model.RewardModel, seqs []data.Seq, batchSize int) ([]float32, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("scoring: batch size %d", batchSize)
	}
	out := make([]float32, len(seqs))
	batch := make([][]int32, 0, batchSize)
	for lo := 0; lo < len(seqs); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batchSize, len(seqs))
		batch = batch[:0]
		for i := lo; i < hi; i++ {
			switch n := len(seqs[i].Tokens); {
			case n == 0:
				return nil, fmt.Errorf("scoring: sequence %d is empty", i)
			case n > m.MaxLen():
				return nil, fmt.Errorf("scoring: sequence %d has %d tokens, more than the model's %d positions", i, n, m.MaxLen())
			}
			batch = append(batch, seqs[i].Tokens)
		}
		r, err := m.Rewards(batch)
		if err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		copy(out[lo:hi], r)
	}
	return out, nil
}
