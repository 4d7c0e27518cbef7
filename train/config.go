package train

import (
	"errors"
	"fmt"
	"time"

	"github.com/warm-rm/warm/optim"
)

// Config holds the optimisation hyper-parameters shared by every loop.
type Config struct {
	// Steps is the number of optimiser steps.
	Steps int `json:"steps"`
	// BatchSize is the number of sequences (LM, SFT) or pairs (RM) a step.
	BatchSize int `json:"batch_size"`
	// LR is the peak learning rate; MinLR the floor the decay ends at.
	LR    float64 `json:"lr"`
	MinLR float64 `json:"min_lr"`
	// Warmup is the number of linear warm-up steps.
	Warmup int `json:"warmup"`
	// Decay is the schedule after warm-up: "cosine", "linear" or
	// "constant".
	Decay Decay `json:"decay"`
	// WeightDecay is AdamW's decoupled weight decay (matrices and
	// embeddings only).
	WeightDecay float32 `json:"weight_decay"`
	// Beta1, Beta2 and Eps are AdamW's other constants.
	Beta1 float32 `json:"beta1"`
	Beta2 float32 `json:"beta2"`
	Eps   float32 `json:"eps"`
	// ClipNorm is the global gradient-norm limit (0: no clipping).
	ClipNorm float32 `json:"clip_norm"`
	// Seed keys the dropout masks.
	Seed uint64 `json:"seed"`
	// DataSeed keys the data order.
	DataSeed uint64 `json:"data_seed"`
}

// DefaultConfig returns sensible defaults for the small models warm trains
// on a CPU.
func DefaultConfig() Config {
	return Config{
		Steps: 1000, BatchSize: 32, LR: 1e-3, MinLR: 1e-4, Warmup: 50, Decay: DecayCosine,
		WeightDecay: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1.0,
		Seed: 1, DataSeed: 1,
	}
}

// Validate reports the first inconsistent setting.
func (c Config) Validate() error {
	switch {
	case c.Steps < 0:
		return fmt.Errorf("steps %d < 0", c.Steps)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d < 1", c.BatchSize)
	case c.LR < 0 || c.MinLR < 0:
		return errors.New("learning rates must be >= 0")
	case c.MinLR > c.LR:
		return fmt.Errorf("min lr %g above peak lr %g", c.MinLR, c.LR)
	case c.Warmup < 0:
		return fmt.Errorf("warmup %d < 0", c.Warmup)
	case c.ClipNorm < 0:
		return fmt.Errorf("clip norm %g < 0", c.ClipNorm)
	}
	if _, err := c.Decay.optim(); err != nil {
		return err
	}
	return c.adamW().Validate()
}

func (c Config) adamW() optim.AdamWConfig {
	return optim.AdamWConfig{Beta1: c.Beta1, Beta2: c.Beta2, Eps: c.Eps, WeightDecay: c.WeightDecay}
}

func (c Config) schedule() (optim.Schedule, error) {
	d, err := c.Decay.optim()
	if err != nil {
		return optim.Schedule{}, err
	}
	warm := min(c.Warmup, c.Steps)
	return optim.Schedule{Peak: c.LR, Floor: c.MinLR, Warmup: warm, Total: max(c.Steps, 1), Decay: d}, nil
}

// Decay is the learning-rate schedule after warm-up, spelled as in flags,
// configs, training states and manifests.
type Decay string

// The decays (optim.Cosine, optim.Linear and optim.Constant).
const (
	// DecayCosine is a half cosine from the peak to the floor.
	DecayCosine Decay = "cosine"
	// DecayLinear is a straight line from the peak to the floor.
	DecayLinear Decay = "linear"
	// DecayConstant stays at the peak until the end.
	DecayConstant Decay = "constant"
)

// ParseDecay returns the Decay spelled s: "cosine", "linear" or
// "constant".
func ParseDecay(s string) (Decay, error) {
	d := Decay(s)
	if _, err := d.optim(); err != nil {
		return "", err
	}
	return d, nil
}

// optim returns the optimiser's decay shape: the one place a Decay's
// spelling is checked (optim.ParseDecay holds the names).
func (d Decay) optim() (optim.Decay, error) {
	return optim.ParseDecay(string(d))
}

// Stats describes one optimiser step.
type Stats struct {
	Step     int     `json:"step"` // 1-based: the number of steps done
	Loss     float64 `json:"loss"`
	Acc      float64 `json:"acc,omitempty"` // RM: fraction of pairs ranked as labelled
	LR       float32 `json:"lr"`
	GradNorm float32 `json:"grad_norm"` // before clipping
	Tokens   int     `json:"tokens"`    // real tokens processed this step
	// Elapsed is the wall time since the run (or its resumption) started.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Skipped reports a step whose gradient was not finite (no update).
	Skipped bool `json:"skipped,omitempty"`
}

// stepSeed derives the dropout seed of a step from the run's seed
// (splitmix64), so that step s uses the same masks whether or not the run
// was resumed.
func stepSeed(seed uint64, step int) uint64 {
	z := seed + uint64(step+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
