package train

import (
	"context"
	"errors"
	"fmt"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// PretrainStep returns the step function of language-model pre-training
// on a packed token stream (data.PackTokens) cut into windows of T tokens.
func PretrainStep(m *model.Model, stream []int32, T, batchSize int, dataSeed uint64) (StepFunc, error) {
	if T > m.Config.NPositions {
		return nil, fmt.Errorf("context %d exceeds the model's %d positions", T, m.Config.NPositions)
	}
	w := data.LMWindows(len(stream), T)
	if w < 1 {
		return nil, fmt.Errorf("the corpus has %d tokens, too few for one window of %d", len(stream), T)
	}
	ord := newOrder(w, batchSize, dataSeed)
	return func(ctx context.Context, step int, seed uint64) (float64, float64, int, error) {
		idx, err := ord.batch(step)
		if err != nil {
			return 0, 0, 0, err
		}
		b, err := data.MakeLMBatch(stream, T, idx)
		if err != nil {
			return 0, 0, 0, err
		}
		loss, err := m.LMForward(b.Inputs, b.B, b.T, b.Targets, nil, true, seed)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := m.LMBackward(); err != nil {
			return 0, 0, 0, err
		}
		return float64(loss), 0, b.B * b.T, nil
	}, nil
}

// SFTStep returns the step function of supervised fine-tuning on tokenised
// demonstrations (data.TokenizeSFT): next-token loss on response tokens
// only.
func SFTStep(m *model.Model, seqs []data.Seq, pad, batchSize int, dataSeed uint64) (StepFunc, error) {
	if len(seqs) == 0 {
		return nil, errors.New("no SFT demonstrations")
	}
	for i, s := range seqs {
		if len(s.Tokens) > m.Config.NPositions+1 {
			return nil, fmt.Errorf("demonstration %d has %d tokens, more than the model's %d positions", i, len(s.Tokens), m.Config.NPositions)
		}
	}
	ord := newOrder(len(seqs), batchSize, dataSeed)
	return func(ctx context.Context, step int, seed uint64) (float64, float64, int, error) {
		idx, err := ord.batch(step)
		if err != nil {
			return 0, 0, 0, err
		}
		b := data.MakeSFTBatch(seqs, idx, pad)
		if b.Count == 0 {
			return 0, 0, 0, nil // nothing to learn in this batch (all prompts truncated away)
		}
		loss, err := m.LMForward(b.Inputs, b.B, b.T, b.Targets, b.Mask, true, seed)
		if err != nil {
			return 0, 0, 0, err
		}
		if err := m.LMBackward(); err != nil {
			return 0, 0, 0, err
		}
		return float64(loss), 0, b.Count, nil
	}, nil
}

// LMLoss returns the mean next-token loss of m (no dropout) over the
// windows of a packed stream, at most maxWindows of them (0: all), for
// validation perplexity.
func LMLoss(ctx context.Context, m *model.Model, stream []int32, T, batchSize, maxWindows int) (float64, error) {
	w := data.LMWindows(len(stream), T)
	if maxWindows > 0 {
		w = min(w, maxWindows)
	}
	if w == 0 {
		return 0, errors.New("no complete window to evaluate")
	}
	var sum float64
	var n int
	for lo := 0; lo < w; lo += batchSize {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		idx := make([]int, 0, batchSize)
		for i := lo; i < min(lo+batchSize, w); i++ {
			idx = append(idx, i)
		}
		b, err := data.MakeLMBatch(stream, T, idx)
		if err != nil {
			return 0, err
		}
		loss, err := m.LMForward(b.Inputs, b.B, b.T, b.Targets, nil, false, 0)
		if err != nil {
			return 0, err
		}
		sum += float64(loss) * float64(b.B*b.T)
		n += b.B * b.T
	}
	return sum / float64(n), nil
}
