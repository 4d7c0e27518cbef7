package policy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/train"
)

// This file runs RL (rl.go's algorithm): the run directory, its logs and
// checkpoints, resuming, the evaluations and rl.json.

// RolePolicy is the checkpoint role (metadata) of an RL policy.
const RolePolicy = "policy"

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
	Log      *slog.Logger
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
	// Repetition is the mean share of a response's content words that
	// repeat an earlier one (data.Repetition; no model involved): the check
	// beside the control that on-topic repetition, the hack the ETHICS
	// members share, shows in. Nil in runs written before it was measured.
	Repetition *float64 `json:"repetition,omitempty"`
	// StemRepetition is the same with content words compared by their
	// first data.StemLen letters (data.StemRepetition), which also sees
	// made-up variants of one stem. Nil in runs written before it.
	StemRepetition *float64 `json:"stem_repetition,omitempty"`
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

func (o *RLOptions) log() *slog.Logger { return pipeline.Logger(o.Log) }

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
	if ref == nil {
		return nil, fmt.Errorf("rl: policy %s is not a GPT-2 model: RL fine-tunes warm's GPT-2 engine only for now (the Llama family runs inference; its backward pass is a later issue)", o.Policy.Name)
	}
	pm, err := model.New(ref.Config)
	if err != nil {
		return nil, err
	}
	copy(pm.Flat, ref.Flat)
	// The SFT policy is only run forward (the KL term's log-probabilities):
	// its weights are packed for the run (bit-identical, faster).
	if !ref.Packed() {
		ref.PackForInference()
		defer ref.Unpack()
	}
	r := &rlRun{o: o, cfg: cfg, policy: pm, ref: ref, orders: map[int][]int{}, eos: o.Policy.EOS}
	r.pol = NewPolicy(o.Policy.Name, pm, o.Policy.Tok)
	r.pol.Meta = o.Policy.Meta
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
		o.log().Info("rl: a finished run", "dir", o.Out)
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
		o.log().Info("rl: evaluating the SFT policy", "prompts", len(o.EvalPrompts), "samples", cfg.EvalSamples)
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
	var steps, evals []any
	r.res.Steps, steps = upTo(r.res.Steps, done, func(s RLStep) int { return s.Step })
	r.res.Evals, evals = upTo(r.res.Evals, done, func(e RLEval) int { return e.Step })
	if err := r.trainLog.rewrite(steps); err != nil {
		return err
	}
	return r.evalLog.rewrite(evals)
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
	r.o.log().Info("rl: evaluation", "step", done, "control", fmt.Sprintf("%.4f ± %.4f", ev.Control, ev.ControlSE), "proxy", fmt.Sprintf("%.3f", ev.Proxy), "proxy_norm", fmt.Sprintf("%.3f", ev.ProxyNorm), "kl", fmt.Sprintf("%.3f", ev.KL), "tokens", fmt.Sprintf("%.1f", ev.Tokens))
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
	var rep, stem float64
	for i := range ss {
		rep += data.Repetition(ss[i].ResponseText)
		stem += data.StemRepetition(ss[i].ResponseText)
	}
	rep /= float64(len(ss))
	stem /= float64(len(ss))
	ev.Repetition, ev.StemRepetition = &rep, &stem
	return ev, nil
}

// writeResult writes rl.json and the report (rl.md, rl.html, figures), each
// file atomically (t0 zero: keep the wall time).
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
	files, err := rlReportFiles([]*RLResult{r.res})
	if err != nil {
		return err
	}
	return report.WriteFiles(r.o.Out, files)
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

// upTo keeps the entries of xs up to step done, also as []any for the
// JSONL logs.
func upTo[T any](xs []T, done int, step func(T) int) ([]T, []any) {
	var kept []T
	var anys []any
	for _, x := range xs {
		if step(x) <= done {
			kept = append(kept, x)
			anys = append(anys, x)
		}
	}
	return kept, anys
}
