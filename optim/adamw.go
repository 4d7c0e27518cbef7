package optim

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model"
)

// Segment is a named range of the flat buffers: one parameter tensor.
type Segment struct {
	Name   string
	Shape  []int
	Offset int
	Len    int
	Decay  bool // weight decay applies
}

// Segments describes a model's parameters (model.Param.Decay decides the
// weight decay).
func Segments(ps []model.Param) []Segment {
	segs := make([]Segment, len(ps))
	for i, p := range ps {
		segs[i] = Segment{Name: p.Name, Shape: p.Shape, Offset: p.Offset, Len: len(p.Data), Decay: p.Decay}
	}
	return segs
}

// AdamWConfig holds AdamW's hyper-parameters (the learning rate is given to
// each Step, from a Schedule).
type AdamWConfig struct {
	Beta1, Beta2 float32
	Eps          float32
	WeightDecay  float32 // decoupled: p ← p·(1 − lr·WeightDecay) on Decay segments
}

// DefaultAdamW returns PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8,
// weight decay 0.01.
func DefaultAdamW() AdamWConfig {
	return AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
}

// Validate reports a hyper-parameter out of range.
func (c AdamWConfig) Validate() error {
	switch {
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("adamw: beta1 %g outside [0, 1)", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("adamw: beta2 %g outside [0, 1)", c.Beta2)
	case !(c.Eps > 0):
		return fmt.Errorf("adamw: eps %g must be positive", c.Eps)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("adamw: weight decay %g must be non-negative", c.WeightDecay)
	}
	return nil
}

// AdamW is the optimiser state of one flat parameter buffer.
type AdamW struct {
	Config        AdamWConfig
	params, grads []float32
	m, v          []float32 // first and second moments, flat
	steps         int64
	segs          []Segment // sorted by offset, tiling the buffer
}

// grain is the number of elements per parallel chunk of an update.
const grain = 1 << 14

// NewAdamW returns an optimiser for params (updated in place) and grads
// (read), described by segs, which must tile the buffers exactly.
func NewAdamW(params, grads []float32, segs []Segment, cfg AdamWConfig) (*AdamW, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(params) != len(grads) {
		return nil, fmt.Errorf("adamw: %d parameters but %d gradients", len(params), len(grads))
	}
	s := slices.Clone(segs)
	sort.Slice(s, func(i, j int) bool { return s[i].Offset < s[j].Offset })
	off := 0
	names := map[string]bool{}
	for _, g := range s {
		if g.Offset != off || g.Len < 0 {
			return nil, fmt.Errorf("adamw: segment %q at offset %d (length %d), expected offset %d", g.Name, g.Offset, g.Len, off)
		}
		if names[g.Name] {
			return nil, fmt.Errorf("adamw: duplicate segment %q", g.Name)
		}
		names[g.Name] = true
		off += g.Len
	}
	if off != len(params) {
		return nil, fmt.Errorf("adamw: segments cover %d of %d parameters", off, len(params))
	}
	return &AdamW{
		Config: cfg, params: params, grads: grads,
		m: make([]float32, len(params)), v: make([]float32, len(params)),
		segs: s,
	}, nil
}

// NewAdamWForModel returns an optimiser for m's parameters.
func NewAdamWForModel(m *model.Model, cfg AdamWConfig) (*AdamW, error) {
	return NewAdamW(m.Flat, m.GradFlat, Segments(m.Params()), cfg)
}

// Steps returns the number of updates made (the t of the bias correction).
func (o *AdamW) Steps() int64 { return o.steps }

// Step applies one AdamW update with learning rate lr, exactly as
// torch.optim.AdamW (amsgrad off) does in float32:
//
//	p ← p·(1 − lr·λ)                       (Decay segments only)
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε)
func (o *AdamW) Step(lr float32) {
	o.steps++
	c := o.Config
	t := float64(o.steps)
	bc1 := 1 - math.Pow(float64(c.Beta1), t)
	bc2 := 1 - math.Pow(float64(c.Beta2), t)
	stepSize := float32(float64(lr) / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	decay := 1 - lr*c.WeightDecay
	b1, b2 := c.Beta1, c.Beta2
	kernels.ParallelFor(len(o.params), grain, func(lo, hi int) {
		// The first segment that ends after lo.
		si := sort.Search(len(o.segs), func(i int) bool { return o.segs[i].Offset+o.segs[i].Len > lo })
		for ; si < len(o.segs) && o.segs[si].Offset < hi; si++ {
			sg := o.segs[si]
			a, b := max(lo, sg.Offset), min(hi, sg.Offset+sg.Len)
			p, g, m, v := o.params[a:b], o.grads[a:b], o.m[a:b], o.v[a:b]
			if sg.Decay && c.WeightDecay != 0 {
				for i := range p {
					p[i] *= decay
				}
			}
			for i, gi := range g {
				mi := m[i]*b1 + gi*(1-b1)
				vi := v[i]*b2 + gi*gi*(1-b2)
				m[i], v[i] = mi, vi
				denom := sqrt32(vi)/bc2Sqrt + c.Eps
				p[i] -= stepSize * (mi / denom)
			}
		}
	})
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// NamedTensor is a named float32 tensor of optimiser state.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// State returns the step count and the moment tensors, named
// "<param>.exp_avg" and "<param>.exp_avg_sq" (PyTorch's names), as views
// of the optimiser's buffers, for saving with a checkpoint.
func (o *AdamW) State() (int64, []NamedTensor) {
	out := make([]NamedTensor, 0, 2*len(o.segs))
	for _, s := range o.segs {
		out = append(out,
			NamedTensor{s.Name + ".exp_avg", s.Shape, o.m[s.Offset : s.Offset+s.Len]},
			NamedTensor{s.Name + ".exp_avg_sq", s.Shape, o.v[s.Offset : s.Offset+s.Len]})
	}
	return o.steps, out
}

// LoadState restores a State: every moment tensor must be present with its
// exact shape, and no other tensor may be.
func (o *AdamW) LoadState(steps int64, tensors []NamedTensor) error {
	if steps < 0 {
		return fmt.Errorf("adamw state: negative step count %d", steps)
	}
	byName := make(map[string]NamedTensor, len(tensors))
	for _, t := range tensors {
		if _, dup := byName[t.Name]; dup {
			return fmt.Errorf("adamw state: duplicate tensor %q", t.Name)
		}
		byName[t.Name] = t
	}
	_, want := o.State()
	if len(byName) != len(want) {
		for _, w := range want {
			delete(byName, w.Name)
		}
		for name := range byName {
			return fmt.Errorf("adamw state: unexpected tensor %q", name)
		}
	}
	for _, w := range want {
		t, ok := byName[w.Name]
		if !ok {
			return fmt.Errorf("adamw state: missing tensor %q", w.Name)
		}
		if !slices.Equal(t.Shape, w.Shape) || len(t.Data) != len(w.Data) {
			return fmt.Errorf("adamw state: tensor %q has shape %v (%d values), want %v", w.Name, t.Shape, len(t.Data), w.Shape)
		}
	}
	for _, w := range want {
		copy(w.Data, byName[w.Name].Data)
	}
	o.steps = steps
	return nil
}
