package train

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// RMStep returns the step function of reward-model training: the
// Bradley–Terry loss −log σ(r⁺ − r⁻) over a batch of tokenised pairs. The
// accuracy reported is the fraction of pairs the model ranks as labelled.
func RMStep(m *model.Model, pairs []data.TokPair, pad, batchSize int, dataSeed uint64) (StepFunc, error) {
	if !m.Config.RewardHead {
		return nil, errors.New("model has no reward head")
	}
	if len(pairs) == 0 {
		return nil, errors.New("no training pairs")
	}
	if err := checkPairLengths(m, pairs); err != nil {
		return nil, err
	}
	ord := newOrder(len(pairs), batchSize, dataSeed)
	var dc, dr, dRewards []float32
	return func(ctx context.Context, step int, seed uint64) (float64, float64, int, error) {
		idx, err := ord.batch(step)
		if err != nil {
			return 0, 0, 0, err
		}
		b := data.MakePairBatch(pairs, idx, pad)
		r, err := m.RewardForward(b.Tokens, b.N, b.T, b.Lengths, true, seed)
		if err != nil {
			return 0, 0, 0, err
		}
		B := b.B
		dc, dr = grow(dc, B), grow(dr, B)
		loss, err := model.BradleyTerry(r[:B], r[B:2*B], dc, dr)
		if err != nil {
			return 0, 0, 0, err
		}
		correct := 0
		for i := 0; i < B; i++ {
			if r[i] > r[B+i] {
				correct++
			}
		}
		dRewards = grow(dRewards, 2*B)
		copy(dRewards, dc)
		copy(dRewards[B:], dr)
		if err := m.RewardBackward(dRewards); err != nil {
			return 0, 0, 0, err
		}
		tokens := 0
		for _, l := range b.Lengths {
			tokens += l
		}
		return float64(loss), float64(correct) / float64(B), tokens, nil
	}, nil
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func checkPairLengths(m *model.Model, pairs []data.TokPair) error {
	for _, p := range pairs {
		for _, s := range []data.Seq{p.Chosen, p.Rejected} {
			if len(s.Tokens) > m.Config.NPositions {
				return fmt.Errorf("pair %d has a sequence of %d tokens, more than the model's %d positions (tokenise with a smaller max length)", p.ID, len(s.Tokens), m.Config.NPositions)
			}
			if len(s.Tokens) == 0 {
				return fmt.Errorf("pair %d has an empty sequence", p.ID)
			}
		}
	}
	return nil
}

// WithRewardHead returns a reward model with the trunk of m: a copy of m's
// transformer weights plus a score head, taken from head when it is given
// (the shared linear-probed head of a WARM sweep) or zero (to be
// linear-probed). m itself is not changed. dropout, when not nil, sets all
// three dropout probabilities of the new model.
func WithRewardHead(m *model.Model, head []float32, dropout *float32) (*model.Model, error) {
	cfg := m.Config
	cfg.RewardHead = true
	if dropout != nil {
		cfg.EmbdPdrop, cfg.AttnPdrop, cfg.ResidPdrop = *dropout, *dropout, *dropout
	}
	out, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, p := range out.Params() {
		if p.Name == ScoreName {
			if head != nil {
				if len(head) != len(p.Data) {
					return nil, fmt.Errorf("reward head has %d weights, the model needs %d", len(head), len(p.Data))
				}
				copy(p.Data, head)
			}
			continue
		}
		src, ok := m.Param(p.Name)
		if !ok {
			return nil, fmt.Errorf("source model lacks %s", p.Name)
		}
		copy(p.Data, src.Data)
	}
	return out, nil
}

// ScoreName is the Hugging Face name of the reward head's weight.
const ScoreName = "score.weight"

// Head returns a copy of m's reward-head weights.
func Head(m *model.Model) ([]float32, error) {
	p, ok := m.Param(ScoreName)
	if !ok {
		return nil, errors.New("model has no reward head")
	}
	return append([]float32(nil), p.Data...), nil
}

// PairFeatures returns the frozen features (final LayerNorm output at the
// last token) of the chosen and rejected sequence of every pair, each
// [len(pairs)][d] row-major, computed without dropout in batches of
// batchSize pairs.
func PairFeatures(ctx context.Context, m *model.Model, pairs []data.TokPair, pad, batchSize int) (chosen, rejected []float32, err error) {
	if err := checkPairLengths(m, pairs); err != nil {
		return nil, nil, err
	}
	d := m.Config.NEmbd
	chosen = make([]float32, len(pairs)*d)
	rejected = make([]float32, len(pairs)*d)
	idx := make([]int, 0, batchSize)
	for lo := 0; lo < len(pairs); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		idx = idx[:0]
		for i := lo; i < min(lo+batchSize, len(pairs)); i++ {
			idx = append(idx, i)
		}
		b := data.MakePairBatch(pairs, idx, pad)
		f, err := m.Features(b.Tokens, b.N, b.T, b.Lengths)
		if err != nil {
			return nil, nil, err
		}
		copy(chosen[lo*d:], f[:b.B*d])
		copy(rejected[lo*d:], f[b.B*d:2*b.B*d])
	}
	return chosen, rejected, nil
}

// ProbeConfig sets up a linear probe of the reward head.
type ProbeConfig struct {
	// Steps of full-batch Adam on the Bradley–Terry loss.
	Steps int `json:"steps"`
	// LR is Adam's learning rate.
	LR float64 `json:"lr"`
	// L2 is the weight of the ridge penalty ½·L2·‖w‖².
	L2 float64 `json:"l2"`
}

// DefaultProbe returns the probe settings warm uses by default.
func DefaultProbe() ProbeConfig { return ProbeConfig{Steps: 300, LR: 0.05, L2: 1e-4} }

// FitProbe fits the weights w of a linear reward r = w·x on frozen
// features by minimising the mean Bradley–Terry loss plus the ridge
// penalty, with full-batch Adam in float64 (deterministic). chosen and
// rejected are [n][d] row-major. It returns w and the final training
// accuracy.
func FitProbe(ctx context.Context, chosen, rejected []float32, d int, cfg ProbeConfig) ([]float32, float64, error) {
	if d <= 0 || len(chosen) != len(rejected) || len(chosen)%d != 0 || len(chosen) == 0 {
		return nil, 0, fmt.Errorf("probe: bad feature shapes (%d, %d values, d=%d)", len(chosen), len(rejected), d)
	}
	n := len(chosen) / d
	diff := make([]float64, len(chosen))
	for i := range diff {
		diff[i] = float64(chosen[i]) - float64(rejected[i])
	}
	w := make([]float64, d)
	g := make([]float64, d)
	m1 := make([]float64, d)
	m2 := make([]float64, d)
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for t := 1; t <= cfg.Steps; t++ {
		if t%50 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		for j := range g {
			g[j] = cfg.L2 * w[j]
		}
		for i := 0; i < n; i++ {
			row := diff[i*d : (i+1)*d]
			var margin float64
			for j, v := range row {
				margin += w[j] * v
			}
			// d/dmargin of softplus(−margin) = −σ(−margin)
			s := -1 / (1 + math.Exp(margin)) / float64(n)
			for j, v := range row {
				g[j] += s * v
			}
		}
		c1 := 1 - math.Pow(b1, float64(t))
		c2 := 1 - math.Pow(b2, float64(t))
		for j := range w {
			m1[j] = b1*m1[j] + (1-b1)*g[j]
			m2[j] = b2*m2[j] + (1-b2)*g[j]*g[j]
			w[j] -= cfg.LR * (m1[j] / c1) / (math.Sqrt(m2[j]/c2) + eps)
		}
	}
	out := make([]float32, d)
	for j, v := range w {
		out[j] = float32(v)
	}
	return out, ProbeAccuracy(chosen, rejected, d, out), nil
}

// ProbeAccuracy returns the fraction of pairs whose chosen features score
// strictly higher than the rejected ones under the linear reward w (ties
// count as wrong).
func ProbeAccuracy(chosen, rejected []float32, d int, w []float32) float64 {
	n := len(chosen) / d
	if n == 0 {
		return 0
	}
	correct := 0
	for i := 0; i < n; i++ {
		var rc, rr float64
		for j := 0; j < d; j++ {
			rc += float64(w[j]) * float64(chosen[i*d+j])
			rr += float64(w[j]) * float64(rejected[i*d+j])
		}
		if rc > rr {
			correct++
		}
	}
	return float64(correct) / float64(n)
}
