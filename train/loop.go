package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/optim"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

// StepFunc computes the loss of step (0-based) and adds its gradient into
// the model's GradFlat (which the loop zeroes first). dropoutSeed keys the
// step's dropout masks. It returns the loss, an accuracy where the loop has
// one (else 0) and the number of real tokens processed.
type StepFunc func(ctx context.Context, step int, dropoutSeed uint64) (loss, acc float64, tokens int, err error)

// Runner is one training run of a model: the optimiser loop, progress and
// the training-state checkpoints that make it resumable.
type Runner struct {
	// Model is trained in place.
	Model *model.Model
	// Tokenizer and Meta are written with every state checkpoint, so that a
	// state directory is also a loadable checkpoint.
	Tokenizer *tokenizer.Tokenizer
	Meta      checkpoint.Meta
	Config    Config
	// Kind names the loop ("pretrain", "sft", "rm"); DataID identifies the
	// training data (e.g. a hash of the token ids). Both are stored in the
	// state and must match on resume, as must Config.
	Kind, DataID string
	// StateDir, when set, is where the training state is checkpointed every
	// StateEvery steps (and when the context is cancelled). If it holds a
	// state when Run starts, the run resumes from it.
	StateDir   string
	StateEvery int
	// Progress, when set, is called after every step.
	Progress func(Stats)
	// AfterStep, when set, is called after every step with the number of
	// steps done (for snapshots at chosen steps); an error stops the run.
	AfterStep func(done int) error
}

// trainerState is trainer_state.json.
type trainerState struct {
	Kind    string  `json:"kind"`
	DataID  string  `json:"data_id"`
	Config  Config  `json:"config"`
	Step    int     `json:"step"`
	History []Stats `json:"history"`
}

const (
	stateFile     = "trainer_state.json"
	optimizerFile = "optimizer.safetensors"
	metaOptSteps  = "warm.optimizer_steps"
)

// Run trains for Config.Steps steps (resuming from StateDir if it holds a
// state) and returns the statistics of every step done, including the
// resumed ones. On cancellation it saves the state first (when StateDir is
// set) and returns the context's error.
func (r *Runner) Run(ctx context.Context, step StepFunc) ([]Stats, error) {
	cfg := r.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("training config: %w", err)
	}
	m := r.Model
	opt, err := optim.NewAdamWForModel(m, cfg.adamW())
	if err != nil {
		return nil, err
	}
	var history []Stats
	start := 0
	if r.StateDir != "" {
		st, err := r.loadState(opt)
		switch {
		case err == nil:
			start, history = st.Step, st.History
		case errors.Is(err, os.ErrNotExist):
		default:
			return nil, err
		}
	}
	sched, err := cfg.schedule()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	for s := start; s < cfg.Steps; s++ {
		if err := ctx.Err(); err != nil {
			if r.StateDir != "" && s > start {
				if serr := r.saveState(opt, s, history); serr != nil {
					return history, errors.Join(err, serr)
				}
			}
			return history, err
		}
		m.ZeroGrad()
		loss, acc, tokens, err := step(ctx, s, stepSeed(cfg.Seed, s))
		if err != nil {
			return history, fmt.Errorf("step %d: %w", s+1, err)
		}
		norm := optim.ClipGradNorm(m.GradFlat, cfg.ClipNorm)
		if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(float64(norm)) || math.IsInf(float64(norm), 0) {
			return history, fmt.Errorf("step %d: loss %v, gradient norm %v: training diverged (lower the learning rate or raise clipping)", s+1, loss, norm)
		}
		lr := sched.LR(s)
		opt.Step(lr)
		st := Stats{Step: s + 1, Loss: loss, Acc: acc, LR: lr, GradNorm: norm, Tokens: tokens, Elapsed: time.Since(t0)}
		history = append(history, st)
		if r.Progress != nil {
			r.Progress(st)
		}
		if r.AfterStep != nil {
			if err := r.AfterStep(s + 1); err != nil {
				return history, err
			}
		}
		if r.StateDir != "" && r.StateEvery > 0 && (s+1)%r.StateEvery == 0 && s+1 < cfg.Steps {
			if err := r.saveState(opt, s+1, history); err != nil {
				return history, err
			}
		}
	}
	return history, nil
}

// saveState publishes the state directory: a checkpoint of the model plus
// the optimiser moments and trainer_state.json.
func (r *Runner) saveState(opt *optim.AdamW, done int, history []Stats) error {
	meta := r.Meta
	meta.Step = done
	ck := &checkpoint.Checkpoint{Model: r.Model, Tokenizer: r.Tokenizer, Meta: meta}
	steps, moments := opt.State()
	err := atomicdir.Write(r.StateDir, true, func(tmp string) error {
		if err := checkpoint.WriteFiles(tmp, ck); err != nil {
			return err
		}
		ts := make([]safetensors.Tensor, len(moments))
		for i, nt := range moments {
			t, err := safetensors.F32Tensor(nt.Name, nt.Shape, nt.Data)
			if err != nil {
				return err
			}
			ts[i] = t
		}
		md := map[string]string{metaOptSteps: fmt.Sprint(steps)}
		if err := safetensors.WriteFile(filepath.Join(tmp, optimizerFile), ts, md); err != nil {
			return err
		}
		b, err := json.Marshal(trainerState{Kind: r.Kind, DataID: r.DataID, Config: r.Config, Step: done, History: history})
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, stateFile), b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("saving training state: %w", err)
	}
	return nil
}

// loadState restores the model and optimiser from StateDir. It returns an
// error wrapping os.ErrNotExist when there is no state to resume.
func (r *Runner) loadState(opt *optim.AdamW) (*trainerState, error) {
	raw, err := os.ReadFile(filepath.Join(r.StateDir, stateFile))
	if err != nil {
		return nil, fmt.Errorf("resuming from %s: %w", r.StateDir, err)
	}
	var st trainerState
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("resuming: %s: %w", filepath.Join(r.StateDir, stateFile), err)
	}
	switch {
	case st.Kind != r.Kind:
		return nil, fmt.Errorf("resuming from %s: it holds a %q run, not %q", r.StateDir, st.Kind, r.Kind)
	case st.DataID != r.DataID:
		return nil, fmt.Errorf("resuming from %s: the training data differ from the saved run's", r.StateDir)
	case st.Config != r.Config:
		return nil, fmt.Errorf("resuming from %s: the training config differs from the saved run's (saved %+v, now %+v)", r.StateDir, st.Config, r.Config)
	}
	ck, err := checkpoint.Load(r.StateDir)
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	if ck.Model.Config != r.Model.Config {
		return nil, fmt.Errorf("resuming from %s: model config %+v differs from %+v", r.StateDir, ck.Model.Config, r.Model.Config)
	}
	copy(r.Model.Flat, ck.Model.Flat)
	f, err := safetensors.Open(filepath.Join(r.StateDir, optimizerFile))
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	defer f.Close()
	var steps int64
	if _, err := fmt.Sscan(f.Metadata[metaOptSteps], &steps); err != nil {
		return nil, fmt.Errorf("resuming: %s: bad %s: %w", f.Path, metaOptSteps, err)
	}
	nts := make([]optim.NamedTensor, 0, len(f.Tensors))
	for _, t := range f.Tensors {
		data, err := f.ReadFloat32(t.Name, nil)
		if err != nil {
			return nil, fmt.Errorf("resuming: %w", err)
		}
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int(d)
		}
		nts = append(nts, optim.NamedTensor{Name: t.Name, Shape: shape, Data: data})
	}
	if err := opt.LoadState(steps, nts); err != nil {
		return nil, fmt.Errorf("resuming: %s: %w", f.Path, err)
	}
	return &st, nil
}

// RemoveState deletes a finished run's state directory.
func RemoveState(dir string) error { return os.RemoveAll(dir) }
