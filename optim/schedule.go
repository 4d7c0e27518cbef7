package optim

import (
	"fmt"
	"math"
)

// Decay is the shape of a schedule after its warm-up.
type Decay int

// The decay shapes.
const (
	Cosine   Decay = iota // half cosine from Peak to Floor
	Linear                // straight line from Peak to Floor
	Constant              // Peak until the end
)

// String returns the decay's name.
func (d Decay) String() string {
	switch d {
	case Cosine:
		return "cosine"
	case Linear:
		return "linear"
	case Constant:
		return "constant"
	}
	return fmt.Sprintf("Decay(%d)", int(d))
}

// ParseDecay parses "cosine", "linear" or "constant".
func ParseDecay(s string) (Decay, error) {
	for _, d := range []Decay{Cosine, Linear, Constant} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown learning-rate decay %q (want cosine, linear or constant)", s)
}

// Schedule is a learning-rate schedule over Total steps (numbered from 0):
// linear warm-up over the first Warmup steps (step s gets
// Peak·(s+1)/Warmup), then Decay from Peak at step Warmup to Floor at step
// Total−1 (and Floor after).
type Schedule struct {
	Peak, Floor   float64
	Warmup, Total int
	Decay         Decay
}

// Validate reports an inconsistent schedule.
func (s Schedule) Validate() error {
	switch {
	case !(s.Peak >= 0) || math.IsInf(s.Peak, 0):
		return fmt.Errorf("lr schedule: peak %g", s.Peak)
	case !(s.Floor >= 0) || s.Floor > s.Peak:
		return fmt.Errorf("lr schedule: floor %g outside [0, peak %g]", s.Floor, s.Peak)
	case s.Warmup < 0 || s.Total < 1 || s.Warmup > s.Total:
		return fmt.Errorf("lr schedule: warm-up %d and total %d steps", s.Warmup, s.Total)
	case s.Decay < Cosine || s.Decay > Constant:
		return fmt.Errorf("lr schedule: unknown decay %d", s.Decay)
	}
	return nil
}

// LR returns the learning rate of step (0-based).
func (s Schedule) LR(step int) float32 {
	if step < s.Warmup {
		return float32(s.Peak * float64(step+1) / float64(s.Warmup))
	}
	if s.Decay == Constant {
		return float32(s.Peak)
	}
	span := s.Total - 1 - s.Warmup
	p := 1.0
	if span > 0 {
		p = math.Min(1, float64(step-s.Warmup)/float64(span))
	}
	if s.Decay == Linear {
		return float32(s.Peak + (s.Floor-s.Peak)*p)
	}
	return float32(s.Floor + (s.Peak-s.Floor)*0.5*(1+math.Cos(math.Pi*p)))
}
