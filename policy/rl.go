package policy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/train"
)

// RolePolicy is the checkpoint role (metadata) of an RL policy.
const RolePolicy = "policy"

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

// RLOptions sets up an RL run.
type RLOptions struct {
	// Out is the run directory: checkpoints/step-NNNNNN, state/, logs,
	// rl.json and plots.
	Out    string
	Config RLConfig
	// Policy is the SFT policy (the start and the KL reference).
	Policy *Policy
	// Reward is the proxy optimised; Control judges (logged, never
	// optimised).
	Reward, Control Reward
	// TrainPrompts feed the steps; EvalPrompts the evaluations.
	TrainPrompts, EvalPrompts []string
	// StateEvery is the number of steps between training-state checkpoints
	// (0: SaveEvery). Cancelling also saves the state.
	StateEvery int
	// Resume continues a run found in Out; without it an existing run is
	// an error.
	Resume   bool
	Progress func(s RLStep)
	Log      func(format string, args ...any)
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
	// Objective is the mean penalised reward r − α·KL (+ β·entropy).
	Objective float64 `json:"objective"`
	Loss      float64 `json:"loss"`
	GradNorm  float32 `json:"grad_norm"`
	LR        float32 `json:"lr"`
	Seconds   float64 `json:"seconds"`
}

// RLEval is an evaluation of the policy on the held-out prompts.
type RLEval struct {
	Step      int     `json:"step"`
	Proxy     float64 `json:"proxy"`
	ProxyNorm float64 `json:"proxy_norm"`
	// ProxyStd is the standard deviation of the raw proxy reward over the
	// samples (at step 0 it normalises the proxy reward of training).
	ProxyStd  float64 `json:"proxy_std"`
	Control   float64 `json:"control"`
	ControlSE float64 `json:"control_se"`
	KL        float64 `json:"kl"`
	KLSE      float64 `json:"kl_se"`
	Entropy   float64 `json:"entropy"`
	Tokens    float64 `json:"tokens"`
	Stopped   float64 `json:"stopped"`
	// Checkpoint is the policy saved at this step ("" at step 0: the SFT
	// policy itself).
	Checkpoint string `json:"checkpoint,omitempty"`
	// Example is the response to the first evaluation prompt.
	Example string `json:"example"`
}

// RLResult is rl.json.
type RLResult struct {
	// Run is the run directory.
	Run     string   `json:"run"`
	Date    string   `json:"date"`
	Policy  string   `json:"policy"`
	Reward  string   `json:"reward"`
	Members []string `json:"members,omitempty"`
	Control string   `json:"control"`
	Config  RLConfig `json:"config"`
	// Normalisation of the proxy reward: (r − ProxyMean) / ProxyStd, from
	// the SFT policy's evaluation samples.
	ProxyMean float64 `json:"proxy_mean"`
	ProxyStd  float64 `json:"proxy_std"`
	// Baseline names the variance-reduction baseline used.
	Baseline     string    `json:"baseline"`
	TrainPrompts int       `json:"train_prompts"`
	EvalPrompts  int       `json:"eval_prompts"`
	Steps        []RLStep  `json:"steps"`
	Evals        []RLEval  `json:"evals"`
	StepsPerSec  float64   `json:"steps_per_sec"`
	Done         bool      `json:"done"`
	Wall         string    `json:"wall"`
	Peak         *RLEval   `json:"peak,omitempty"`
	Hacking      *RLHacked `json:"hacking,omitempty"`
}

// RLHacked describes reward hacking seen in the evaluations: after the
// peak of the control reward, the proxy reward kept rising while the control
// reward fell.
type RLHacked struct {
	// PeakStep is the evaluation step of the highest control reward.
	PeakStep int `json:"peak_step"`
	// FinalDrop is the control reward lost from the peak to the last
	// evaluation, and ProxyGain the normalised proxy reward gained.
	FinalDrop float64 `json:"final_drop"`
	ProxyGain float64 `json:"proxy_gain"`
	// Hacked reports FinalDrop > 2 standard errors with ProxyGain > 0.
	Hacked bool `json:"hacked"`
}

const (
	baselineName   = "leave-one-out (RLOO): each sample's baseline is the mean penalised reward of the other samples of its prompt"
	rlConfigFile   = "rl_config.json"
	trainLogFile   = "train_log.jsonl"
	evalLogFile    = "eval_log.jsonl"
	rlResultFile   = "rl.json"
	checkpointsDir = "checkpoints"
	stateDirName   = "state"
)

// CheckpointDir returns where an RL run keeps its policy after step.
func CheckpointDir(out string, step int) string {
	return filepath.Join(out, checkpointsDir, fmt.Sprintf("step-%06d", step))
}

// rlRun is the state of one RL run.
type rlRun struct {
	o        RLOptions
	cfg      RLConfig
	policy   *model.Model // trained in place
	ref      *model.Model // the SFT policy, frozen
	pol      *Policy      // wraps policy with the tokenizer
	train    *Prompts
	eval     *Prompts
	mean     float64
	std      float64
	res      *RLResult
	orders   map[int][]int
	last     RLStep
	started  bool
	eos      int
	trainLog *jsonl
	evalLog  *jsonl
}

func (o *RLOptions) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// RL fine-tunes the SFT policy against the proxy reward with REINFORCE:
// samples, penalised rewards r̃ = (r − μ)/σ − α·KL (+ β·entropy), a
// leave-one-out baseline per prompt, AdamW with clipping (train.Runner:
// resumable, bit-identical on resume), checkpoints and evaluations every
// SaveEvery steps.
func RL(ctx context.Context, o RLOptions) (*RLResult, error) {
	t0 := time.Now()
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	if o.Policy == nil || o.Reward == nil || o.Control == nil {
		return nil, errors.New("rl: policy, reward and control reward are required")
	}
	if len(o.TrainPrompts) < cfg.PromptsPerStep {
		return nil, fmt.Errorf("rl: %d training prompts, fewer than %d per step", len(o.TrainPrompts), cfg.PromptsPerStep)
	}
	if len(o.EvalPrompts) == 0 {
		return nil, errors.New("rl: no evaluation prompts")
	}
	if o.Out == "" {
		return nil, errors.New("rl: no output directory")
	}
	if o.StateEvery <= 0 {
		o.StateEvery = cfg.SaveEvery
	}
	ref := o.Policy.Model
	pm, err := model.New(ref.Config)
	if err != nil {
		return nil, err
	}
	copy(pm.Flat, ref.Flat)
	r := &rlRun{o: o, cfg: cfg, policy: pm, ref: ref, orders: map[int][]int{}, eos: o.Policy.Tok.EOS()}
	r.pol = &Policy{Name: o.Policy.Name, Model: pm, Tok: o.Policy.Tok, Meta: o.Policy.Meta}
	if r.train, err = r.pol.EncodePrompts(o.TrainPrompts, cfg.Sample.MaxTokens); err != nil {
		return nil, fmt.Errorf("rl: training prompts: %w", err)
	}
	if r.eval, err = r.pol.EncodePrompts(o.EvalPrompts, cfg.Sample.MaxTokens); err != nil {
		return nil, fmt.Errorf("rl: evaluation prompts: %w", err)
	}
	id, err := r.dataID()
	if err != nil {
		return nil, err
	}
	if err := r.prepareDir(id); err != nil {
		return nil, err
	}
	if prev, err := ReadRLResult(o.Out); err == nil && prev.Done {
		o.logf("rl: %s is a finished run", o.Out)
		return prev, nil
	}
	r.res = &RLResult{
		Run: o.Out, Date: time.Now().UTC().Format(time.RFC3339), Policy: o.Policy.Name, Reward: o.Reward.Name(),
		Control: o.Control.Name(), Config: cfg, Baseline: baselineName,
		TrainPrompts: len(o.TrainPrompts), EvalPrompts: len(o.EvalPrompts),
	}
	if rm, ok := Underlying(o.Reward).(*RM); ok {
		r.res.Members = rm.Members
	}
	if err := r.loadLogs(); err != nil {
		return nil, err
	}
	if len(r.res.Evals) == 0 || r.res.Evals[0].Step != 0 {
		o.logf("rl: evaluating the SFT policy on %d prompts x %d samples", len(o.EvalPrompts), cfg.EvalSamples)
		ev, err := r.evaluate(ctx, 0, "")
		if err != nil {
			return nil, err
		}
		r.res.Evals = []RLEval{ev}
		if err := r.evalLog.rewrite([]any{ev}); err != nil {
			return nil, err
		}
	}
	r.mean, r.std = r.res.Evals[0].Proxy, r.res.Evals[0].ProxyStd
	if !(r.std > 0) {
		return nil, fmt.Errorf("rl: the proxy reward %s does not vary over the SFT samples (std %v)", o.Reward.Name(), r.std)
	}
	r.res.ProxyMean, r.res.ProxyStd = r.mean, r.std
	r.res.Evals[0].ProxyNorm = 0

	meta := o.Policy.Meta
	meta.Role = RolePolicy
	hp, err := json.Marshal(map[string]any{"rl": cfg, "reward": o.Reward.Name(), "members": r.res.Members, "sft": o.Policy.Name})
	if err != nil {
		return nil, err
	}
	meta.HParams, meta.Extra = hp, nil
	runner := &train.Runner{
		Model: pm, Tokenizer: o.Policy.Tok, Meta: meta, Config: cfg.Train, Kind: "rl", DataID: id,
		StateDir: filepath.Join(o.Out, stateDirName), StateEvery: o.StateEvery,
		Progress: func(st train.Stats) {
			r.last.Loss, r.last.GradNorm, r.last.LR = st.Loss, st.GradNorm, st.LR
		},
		AfterStep: func(done int) error { return r.afterStep(ctx, done, meta) },
	}
	tr := time.Now()
	startSteps := len(r.res.Steps)
	if _, err := runner.Run(ctx, r.step); err != nil {
		if werr := r.writeResult(t0); werr != nil {
			err = errors.Join(err, werr)
		}
		return r.res, fmt.Errorf("rl: %w", err)
	}
	if n := len(r.res.Steps) - startSteps; n > 0 {
		r.res.StepsPerSec = float64(n) / time.Since(tr).Seconds()
	}
	r.res.Done = true
	if err := r.writeResult(t0); err != nil {
		return r.res, err
	}
	if err := train.RemoveState(runner.StateDir); err != nil {
		return r.res, err
	}
	return r.res, nil
}

// dataID identifies everything a resumed run must share with the saved one
// besides the optimiser config: the SFT weights, the reward's weights, the
// prompts and the RL settings.
func (r *rlRun) dataID() (string, error) {
	h := sha256.New()
	wf := func(xs []float32) {
		var b [4]byte
		for _, x := range xs {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			h.Write(b[:])
		}
	}
	wf(r.ref.Flat)
	var walk func(rw Reward)
	walk = func(rw Reward) {
		fmt.Fprintf(h, "reward %s\n", rw.Name())
		switch u := Underlying(rw).(type) {
		case *RM:
			wf(u.Model.Flat)
		case *Ensemble:
			for _, m := range u.Members {
				walk(m)
			}
		}
	}
	walk(r.o.Reward)
	fmt.Fprintf(h, "control %s\n", r.o.Control.Name())
	for _, p := range r.o.TrainPrompts {
		fmt.Fprintf(h, "train %q\n", p)
	}
	for _, p := range r.o.EvalPrompts {
		fmt.Fprintf(h, "eval %q\n", p)
	}
	b, err := json.Marshal(r.cfg)
	if err != nil {
		return "", err
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// prepareDir creates the run directory or checks that it holds this run.
func (r *rlRun) prepareDir(id string) error {
	path := filepath.Join(r.o.Out, rlConfigFile)
	type saved struct {
		DataID string   `json:"data_id"`
		Config RLConfig `json:"config"`
		Reward string   `json:"reward"`
	}
	want := saved{DataID: id, Config: r.cfg, Reward: r.o.Reward.Name()}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !r.o.Resume {
			return fmt.Errorf("rl: %s already holds a run (resume it, or choose another output)", r.o.Out)
		}
		var got saved
		if err := json.Unmarshal(raw, &got); err != nil {
			return fmt.Errorf("rl: %s: %w", path, err)
		}
		if got.DataID != want.DataID || got.Reward != want.Reward {
			return fmt.Errorf("rl: %s: the run there used another policy, reward, prompts or settings (saved reward %s, config %+v)", path, got.Reward, got.Config)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(r.o.Out, 0o755); err != nil {
			return fmt.Errorf("rl: %w", err)
		}
		b, err := json.MarshalIndent(want, "", "  ")
		if err != nil {
			return err
		}
		return atomicdir.WriteFile(path, append(b, '\n'))
	default:
		return fmt.Errorf("rl: %w", err)
	}
}

// loadLogs reads the logs of a resumed run.
func (r *rlRun) loadLogs() error {
	r.trainLog = &jsonl{path: filepath.Join(r.o.Out, trainLogFile)}
	r.evalLog = &jsonl{path: filepath.Join(r.o.Out, evalLogFile)}
	if err := r.trainLog.read(func(b []byte) error {
		var s RLStep
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		r.res.Steps = append(r.res.Steps, s)
		return nil
	}); err != nil {
		return err
	}
	return r.evalLog.read(func(b []byte) error {
		var e RLEval
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		r.res.Evals = append(r.res.Evals, e)
		return nil
	})
}

// truncateLogs drops log entries after step done (a resumed run repeats
// them, bit for bit).
func (r *rlRun) truncateLogs(done int) error {
	var steps []any
	var kept []RLStep
	for _, s := range r.res.Steps {
		if s.Step <= done {
			kept = append(kept, s)
			steps = append(steps, s)
		}
	}
	r.res.Steps = kept
	var evals []any
	var keptE []RLEval
	for _, e := range r.res.Evals {
		if e.Step <= done {
			keptE = append(keptE, e)
			evals = append(evals, e)
		}
	}
	r.res.Evals = keptE
	if err := r.trainLog.rewrite(steps); err != nil {
		return err
	}
	return r.evalLog.rewrite(evals)
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
		pen[i] = z - cfg.KLCoef*kl - cfg.EntropyCoef*bs.logp[i]
		st.Proxy += bs.proxy[i]
		st.ProxyNorm += z
		st.Control += bs.control[i]
		st.KL += kl
		st.Objective += pen[i]
		st.Entropy -= bs.logp[i]
	}
	st.Entropy /= float64(bs.tokens)
	for _, p := range []*float64{&st.Proxy, &st.ProxyNorm, &st.Control, &st.KL, &st.Objective} {
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

// policyGradient adds into m.GradFlat the gradient of the loss
// (1/B) Σ_i A_i Σ_t −log π(y_it), whose gradient is the REINFORCE estimate
// −(1/B) Σ_i A_i ∇ log π(y_i), and returns the loss. LMForward divides the
// weighted sum of token losses by the number of non-zero weights; the
// weights undo that. With every advantage zero there is no gradient.
func policyGradient(m *model.Model, ss []Sample, adv []float64, eos int) (float64, error) {
	lb, err := makeLMBatch(ss, eos, m.Config.PadID)
	if err != nil {
		return 0, err
	}
	B := len(ss)
	nnz := 0
	for b := 0; b < B; b++ {
		if adv[b] != 0 {
			nnz += lb.n[b]
		}
	}
	if nnz == 0 {
		return 0, nil
	}
	for b := 0; b < B; b++ {
		w := float32(adv[b] * float64(nnz) / float64(B))
		for t := lb.first[b]; t < lb.first[b]+lb.n[b]; t++ {
			lb.mask[b*lb.T+t] = w
		}
	}
	l, err := m.LMForward(lb.tokens, lb.B, lb.T, lb.targets, lb.mask, false, 0)
	if err != nil {
		return 0, fmt.Errorf("policy-gradient loss: %w", err)
	}
	if err := m.LMBackward(); err != nil {
		return 0, fmt.Errorf("policy-gradient loss: %w", err)
	}
	return float64(l), nil
}

// afterStep logs the step and, every SaveEvery steps, saves and evaluates
// the policy.
func (r *rlRun) afterStep(ctx context.Context, done int, meta checkpoint.Meta) error {
	st := r.last
	st.Step = done
	r.res.Steps = append(r.res.Steps, st)
	if err := r.trainLog.append(st); err != nil {
		return err
	}
	if r.o.Progress != nil {
		r.o.Progress(st)
	}
	if done%r.cfg.SaveEvery != 0 && done != r.cfg.Train.Steps {
		return nil
	}
	dir := CheckpointDir(r.o.Out, done)
	meta.Step = done
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := checkpoint.Save(dir, &checkpoint.Checkpoint{Model: r.policy, Tokenizer: r.pol.Tok, Meta: meta}, true); err != nil {
		return fmt.Errorf("rl: saving step %d: %w", done, err)
	}
	ev, err := r.evaluate(context.WithoutCancel(ctx), done, dir)
	if err != nil {
		return err
	}
	r.res.Evals = append(r.res.Evals, ev)
	if err := r.evalLog.append(ev); err != nil {
		return err
	}
	r.o.logf("rl: step %d: control %.4f ± %.4f, proxy %.3f (norm %.3f), KL %.3f, %.1f tokens", done, ev.Control, ev.ControlSE, ev.Proxy, ev.ProxyNorm, ev.KL, ev.Tokens)
	return r.writeResult(time.Time{})
}

// evaluate samples the evaluation prompts with the fixed evaluation seed.
func (r *rlRun) evaluate(ctx context.Context, step int, dir string) (RLEval, error) {
	sc := r.cfg.Sample
	sc.Seed = r.cfg.EvalSeed
	ss, err := r.pol.Generate(ctx, r.eval, r.cfg.EvalSamples, sc)
	if err != nil {
		return RLEval{}, err
	}
	bs, err := r.measure(ctx, ss)
	if err != nil {
		return RLEval{}, err
	}
	ev := RLEval{Step: step, Checkpoint: dir, Example: ss[0].ResponseText}
	kl := make([]float64, len(ss))
	for i := range ss {
		kl[i] = bs.logp[i] - bs.logRef[i]
		ev.Entropy -= bs.logp[i]
	}
	ev.Entropy /= float64(bs.tokens)
	ev.Proxy, ev.ProxyStd = meanStd(bs.proxy)
	if r.std > 0 {
		ev.ProxyNorm = (ev.Proxy - r.mean) / r.std
	}
	ev.Control, ev.ControlSE = meanSE(bs.control)
	ev.KL, ev.KLSE = meanSE(kl)
	ev.Tokens = float64(bs.tokens) / float64(len(ss))
	ev.Stopped = float64(bs.stopped) / float64(len(ss))
	return ev, nil
}

// writeResult writes rl.json and the plots (t0 zero: keep the wall time).
func (r *rlRun) writeResult(t0 time.Time) error {
	if !t0.IsZero() {
		r.res.Wall = time.Since(t0).Round(time.Millisecond).String()
	}
	r.res.Peak, r.res.Hacking = analyseEvals(r.res.Evals)
	b, err := json.MarshalIndent(r.res, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicdir.WriteFile(filepath.Join(r.o.Out, rlResultFile), append(b, '\n')); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	return WriteFigures(r.o.Out, RLFigures([]*RLResult{r.res}))
}

// analyseEvals finds the peak control reward and whether it fell afterwards
// while the proxy reward rose.
func analyseEvals(evs []RLEval) (*RLEval, *RLHacked) {
	if len(evs) == 0 {
		return nil, nil
	}
	pk := 0
	for i, e := range evs {
		if e.Control > evs[pk].Control {
			pk = i
		}
	}
	peak := evs[pk]
	last := evs[len(evs)-1]
	h := &RLHacked{PeakStep: peak.Step, FinalDrop: peak.Control - last.Control, ProxyGain: last.ProxyNorm - peak.ProxyNorm}
	se := math.Hypot(peak.ControlSE, last.ControlSE)
	h.Hacked = h.FinalDrop > 2*se && h.ProxyGain > 0
	return &peak, h
}

// ReadRLResult reads the rl.json of a run directory (or the file itself).
func ReadRLResult(path string) (*RLResult, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, rlResultFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r RLResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// RLFigures draws control reward against KL and against steps, and the
// proxy reward against steps, for one or several runs.
func RLFigures(runs []*RLResult) []Figure {
	ctlKL := Figure{Name: "rl_control_kl", Title: "RL: control reward against KL(π ‖ SFT) (eval prompts, ±2 SE)", XLabel: "KL(π ‖ SFT), nats", YLabel: "control reward"}
	ctlStep := Figure{Name: "rl_control_steps", Title: "RL: control reward against steps", XLabel: "step", YLabel: "control reward"}
	prxStep := Figure{Name: "rl_proxy_steps", Title: "RL: proxy reward (SFT std devs) against steps", XLabel: "step", YLabel: "normalised proxy reward"}
	lenStep := Figure{Name: "rl_length_steps", Title: "RL: response length against steps", XLabel: "step", YLabel: "tokens"}
	for _, r := range runs {
		var kl, ctl, se, steps, prx, ln []float64
		for _, e := range r.Evals {
			kl = append(kl, e.KL)
			ctl = append(ctl, e.Control)
			se = append(se, 2*e.ControlSE)
			steps = append(steps, float64(e.Step))
			prx = append(prx, e.ProxyNorm)
			ln = append(ln, e.Tokens)
		}
		label := r.Reward
		ctlKL.Series = append(ctlKL.Series, Series{Label: label, X: kl, Y: ctl, Err: se})
		ctlStep.Series = append(ctlStep.Series, Series{Label: label, X: steps, Y: ctl, Err: se})
		prxStep.Series = append(prxStep.Series, Series{Label: label, X: steps, Y: prx})
		lenStep.Series = append(lenStep.Series, Series{Label: label, X: steps, Y: ln})
	}
	return []Figure{ctlKL, ctlStep, prxStep, lenStep}
}
