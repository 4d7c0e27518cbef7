package eval

import (
	"context"
	"errors"
	"fmt"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// ScoreSeqs returns the reward of every single sequence (prompt + response
// + EOS, as data.Seq lays it out), computed without dropout in batches of
// batchSize sequences: what best-of-N and RL need to score policy samples.
// The reward is read at each sequence's last token, whatever pad is, so a
// pad id equal to EOS is not ambiguous.
func ScoreSeqs(ctx context.Context, m *model.Model, seqs []data.Seq, pad, batchSize int) ([]float32, error) {
	if !m.Config.RewardHead {
		return nil, errors.New("scoring: the model has no reward head (score.weight)")
	}
	if batchSize < 1 {
		return nil, fmt.Errorf("scoring: batch size %d", batchSize)
	}
	out := make([]float32, len(seqs))
	for lo := 0; lo < len(seqs); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batchSize, len(seqs))
		for i := lo; i < hi; i++ {
			switch n := len(seqs[i].Tokens); {
			case n == 0:
				return nil, fmt.Errorf("scoring: sequence %d is empty", i)
			case n > m.Config.NPositions:
				return nil, fmt.Errorf("scoring: sequence %d has %d tokens, more than the model's %d positions", i, n, m.Config.NPositions)
			}
		}
		b := data.MakeSeqBatch(seqs[lo:hi], pad)
		r, err := m.RewardForward(b.Tokens, b.N, b.T, b.Lengths, false, 0)
		if err != nil {
			return nil, fmt.Errorf("scoring: %w", err)
		}
		copy(out[lo:hi], r)
	}
	return out, nil
}
