package policy

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/train"
)

// This file is the algorithm of RL: the settings, the prompts of a step,
// and one REINFORCE step with its leave-one-out baseline and
// policy-gradient loss. rl_run.go runs it (directory, logs, checkpoints,
// evaluations); rl_report.go reports it.

// RLConfig holds the hyper-parameters of policy-gradient fine-tuning.
type RLConfig struct {
	// Train holds the optimiser settings (AdamW, clipping, schedule, Steps,
	// Seed). Train.BatchSize must equal PromptsPerStep × SamplesPerPrompt.
	Train train.Config `json:"train"`
	// PromptsPerStep prompts a step, SamplesPerPrompt samples each
	// (at least 2: the leave-one-out baseline needs them).
	PromptsPerStep   int `json:"prompts_per_step"`
	SamplesPerPrompt int `json:"samples_per_prompt"`
	// KLCoef is α, the weight of the KL(policy ‖ SFT) penalty in units of
	// the normalised proxy reward.
	KLCoef float64 `json:"kl_coef"`
	// EntropyCoef is β, the weight of an entropy bonus (0: none).
	EntropyCoef float64 `json:"entropy_coef"`
	// RepetitionCoef is the weight, in normalised proxy units, of a
	// model-free penalty on the share of a response's content words that
	// repeat an earlier one (data.Repetition; 0: none). It takes away the
	// one hack that every member of a sweep shares on ETHICS (on-topic
	// repetition), so that what is left to exploit is what members do not
	// share. It is part of the objective, not of the proxy or the control.
	RepetitionCoef float64 `json:"repetition_coef,omitempty"`
	// RepetitionStems makes that penalty count repeated stems
	// (data.StemRepetition: content words compared by their first
	// data.StemLen letters) rather than repeated words, so that made-up
	// variants of one stem, the form the hack takes once whole words are
	// penalised, are penalised too. It needs RepetitionCoef > 0.
	RepetitionStems bool `json:"repetition_stems,omitempty"`
	// Sample configures sampling during training and evaluation (its Seed
	// is replaced by per-step seeds).
	Sample sample.Config `json:"sample"`
	// SaveEvery is the number of steps between policy checkpoints and
	// evaluations (the last step is always saved).
	SaveEvery int `json:"save_every"`
	// EvalSamples samples per evaluation prompt, drawn with EvalSeed at
	// every evaluation (the same random streams each time).
	EvalSamples int    `json:"eval_samples"`
	EvalSeed    uint64 `json:"eval_seed"`
}

// DefaultRLConfig returns the settings the documented protocol uses.
func DefaultRLConfig() RLConfig {
	tc := train.DefaultConfig()
	tc.Steps, tc.LR, tc.MinLR, tc.Warmup, tc.Decay, tc.WeightDecay, tc.ClipNorm = 300, 1e-4, 1e-4, 10, "constant", 0, 1
	tc.BatchSize = 16 * 4
	sc := sample.DefaultConfig()
	sc.MaxTokens, sc.BatchSize = 40, 64
	return RLConfig{Train: tc, PromptsPerStep: 16, SamplesPerPrompt: 4, KLCoef: 0.05, Sample: sc,
		SaveEvery: 25, EvalSamples: 2, EvalSeed: 7}
}

// Validate reports the first bad setting.
func (c RLConfig) Validate() error {
	switch {
	case c.PromptsPerStep < 1:
		return fmt.Errorf("prompts per step %d < 1", c.PromptsPerStep)
	case c.SamplesPerPrompt < 2:
		return fmt.Errorf("samples per prompt %d < 2 (the leave-one-out baseline needs two)", c.SamplesPerPrompt)
	case c.Train.BatchSize != c.PromptsPerStep*c.SamplesPerPrompt:
		return fmt.Errorf("batch size %d is not prompts per step × samples per prompt = %d", c.Train.BatchSize, c.PromptsPerStep*c.SamplesPerPrompt)
	case c.KLCoef < 0 || math.IsNaN(c.KLCoef):
		return fmt.Errorf("KL coefficient %v < 0", c.KLCoef)
	case c.EntropyCoef < 0 || math.IsNaN(c.EntropyCoef):
		return fmt.Errorf("entropy coefficient %v < 0", c.EntropyCoef)
	case c.RepetitionCoef < 0 || math.IsNaN(c.RepetitionCoef):
		return fmt.Errorf("repetition penalty %v < 0", c.RepetitionCoef)
	case c.RepetitionStems && c.RepetitionCoef == 0:
		return fmt.Errorf("repetition by stems asks for a repetition penalty: set its weight > 0")
	case c.SaveEvery < 1:
		return fmt.Errorf("save every %d < 1", c.SaveEvery)
	case c.EvalSamples < 1:
		return fmt.Errorf("eval samples %d < 1", c.EvalSamples)
	case c.Train.Steps < 1:
		return fmt.Errorf("steps %d < 1", c.Train.Steps)
	}
	if err := c.Sample.Validate(); err != nil {
		return fmt.Errorf("sampling: %w", err)
	}
	return c.Train.Validate()
}

// RLStep is what one optimiser step saw: statistics of its batch, sampled
// from the policy before the update.
type RLStep struct {
	Step int `json:"step"`
	// Proxy is the mean raw proxy reward and ProxyNorm the same normalised
	// by the SFT statistics; Control the mean control reward.
	Proxy     float64 `json:"proxy"`
	ProxyNorm float64 `json:"proxy_norm"`
	Control   float64 `json:"control"`
	// KL is the mean of Σ_t log π − log π_SFT over the response tokens.
	KL float64 `json:"kl"`
	// Entropy is the Monte Carlo estimate of the policy's per-token entropy
	// (−mean log π of the sampled tokens).
	Entropy float64 `json:"entropy"`
	// Tokens is the mean response length (EOS included), Stopped the
	// fraction of responses that ended with EOS.
	Tokens  float64 `json:"tokens"`
	Stopped float64 `json:"stopped"`
	// Repetition is the mean data.Repetition of the responses, measured
	// only when the objective penalises it (RepetitionCoef > 0).
	Repetition float64 `json:"repetition,omitempty"`
	// Objective is the mean penalised reward r − α·KL (+ β·entropy)
	// (− RepetitionCoef·repetition).
	Objective float64 `json:"objective"`
	Loss      float64 `json:"loss"`
	GradNorm  float32 `json:"grad_norm"`
	LR        float32 `json:"lr"`
	Seconds   float64 `json:"seconds"`
}

// promptsOf returns the training prompt indices of step s: consecutive
// positions of per-epoch permutations of the training prompts.
func (r *rlRun) promptsOf(s int) []int {
	n, P := len(r.train.Texts), r.cfg.PromptsPerStep
	out := make([]int, P)
	for k := range out {
		g := s*P + k
		ep := g / n
		ord, ok := r.orders[ep]
		if !ok {
			ord = data.EpochOrder(n, r.cfg.Train.DataSeed, ep)
			r.orders = map[int][]int{ep: ord} // keep one epoch
		}
		out[k] = ord[g%n]
	}
	return out
}

// batchStats are the per-sample quantities of a batch of samples.
type batchStats struct {
	proxy, control, logp, logRef []float64
	tokens                       int
	stopped                      int
}

// measure scores samples and computes their log-probabilities.
func (r *rlRun) measure(ctx context.Context, ss []Sample) (*batchStats, error) {
	b := r.pol.Items(ss)
	var bs batchStats
	var err error
	if bs.proxy, err = r.o.Reward.Score(ctx, b); err != nil {
		return nil, fmt.Errorf("reward %s: %w", r.o.Reward.Name(), err)
	}
	if bs.control, err = r.o.Control.Score(ctx, b); err != nil {
		return nil, fmt.Errorf("control reward %s: %w", r.o.Control.Name(), err)
	}
	bsz := max(r.cfg.Sample.BatchSize, 1)
	if bs.logp, err = LogProbs(ctx, r.policy, ss, r.eos, bsz); err != nil {
		return nil, err
	}
	if bs.logRef, err = LogProbs(ctx, r.ref, ss, r.eos, bsz); err != nil {
		return nil, err
	}
	for i := range ss {
		bs.tokens += len(ss[i].Response)
		if ss[i].Stopped {
			bs.tokens++
			bs.stopped++
		}
	}
	return &bs, nil
}

// step is the train.StepFunc: sample, score, baseline, policy-gradient
// loss and its gradient. It runs to completion whatever the context (a step
// takes seconds; the runner checks for cancellation between steps and then
// saves the state).
func (r *rlRun) step(ctx context.Context, s int, seed uint64) (float64, float64, int, error) {
	ctx = context.WithoutCancel(ctx)
	if !r.started {
		r.started = true
		if err := r.truncateLogs(s); err != nil {
			return 0, 0, 0, err
		}
	}
	ts := time.Now()
	cfg := r.cfg
	K := cfg.SamplesPerPrompt
	sc := cfg.Sample
	sc.Seed = seed
	ss, err := r.pol.Generate(ctx, r.train.Subset(r.promptsOf(s)), K, sc)
	if err != nil {
		return 0, 0, 0, err
	}
	bs, err := r.measure(ctx, ss)
	if err != nil {
		return 0, 0, 0, err
	}
	B := len(ss)
	pen := make([]float64, B)
	st := RLStep{Step: s + 1}
	for i := range ss {
		z := (bs.proxy[i] - r.mean) / r.std
		kl := bs.logp[i] - bs.logRef[i]
		var rep float64
		pen[i], rep = cfg.objective(z, kl, bs.logp[i], ss[i].ResponseText)
		st.Repetition += rep
		st.Proxy += bs.proxy[i]
		st.ProxyNorm += z
		st.Control += bs.control[i]
		st.KL += kl
		st.Objective += pen[i]
		st.Entropy -= bs.logp[i]
	}
	st.Entropy /= float64(bs.tokens)
	for _, p := range []*float64{&st.Proxy, &st.ProxyNorm, &st.Control, &st.KL, &st.Objective, &st.Repetition} {
		*p /= float64(B)
	}
	st.Tokens = float64(bs.tokens) / float64(B)
	st.Stopped = float64(bs.stopped) / float64(B)

	// Leave-one-out advantages within each prompt's K samples.
	adv := make([]float64, B)
	for p := 0; p < B/K; p++ {
		var sum float64
		for k := 0; k < K; k++ {
			sum += pen[p*K+k]
		}
		for k := 0; k < K; k++ {
			i := p*K + k
			adv[i] = pen[i] - (sum-pen[i])/float64(K-1)
		}
	}
	loss, err := policyGradient(r.policy, ss, adv, r.eos)
	if err != nil {
		return 0, 0, 0, err
	}
	st.Seconds = time.Since(ts).Seconds()
	r.last = st
	return loss, 0, bs.tokens, nil
}

// objective is one sample's penalised reward: its normalised proxy reward z
// less α·KL, plus the entropy bonus (−β·log π), less the repetition penalty;
// rep is the response's data.Repetition (data.StemRepetition with
// RepetitionStems) when that is penalised, else 0.
func (c RLConfig) objective(z, kl, logp float64, response string) (pen, rep float64) {
	pen = z - c.KLCoef*kl - c.EntropyCoef*logp
	if c.RepetitionCoef > 0 {
		if c.RepetitionStems {
			rep = data.StemRepetition(response)
		} else {
			rep = data.Repetition(response)
		}
		pen -= c.RepetitionCoef * rep
	}
	return pen, rep
}

// policyGradient adds into m.GradFlat the gradient of the loss
// (1/B) Σ_i A_i Σ_t −log π(y_it), whose gradient is the REINFORCE estimate
// −(1/B) Σ_i A_i ∇ log π(y_i), and returns the loss. LMForward divides the
// weighted sum of token losses by the number of non-zero weights; the
// weights undo that. With every advantage zero there is no gradient.
func policyGradient(m *model.Model, ss []Sample, adv []float64, eos int) (float64, error) {
	prompts, acts, err := promptsAndActions(ss, eos)
	if err != nil {
		return 0, err
	}
	lb, err := model.NewContinuations(prompts, acts, m.Config.PadID)
	if err != nil {
		return 0, err
	}
	B := len(ss)
	nnz := 0
	for b := 0; b < B; b++ {
		if adv[b] != 0 {
			nnz += lb.N[b]
		}
	}
	if nnz == 0 {
		return 0, nil
	}
	for b := 0; b < B; b++ {
		w := float32(adv[b] * float64(nnz) / float64(B))
		for t := lb.First[b]; t < lb.First[b]+lb.N[b]; t++ {
			lb.Mask[b*lb.T+t] = w
		}
	}
	l, err := m.LMForward(lb.Tokens, lb.B, lb.T, lb.Targets, lb.Mask, false, 0)
	if err != nil {
		return 0, fmt.Errorf("policy-gradient loss: %w", err)
	}
	if err := m.LMBackward(); err != nil {
		return 0, fmt.Errorf("policy-gradient loss: %w", err)
	}
	return float64(l), nil
}
