package model

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Param is a named view of one parameter tensor: Data and Grad are slices of
// Model.Flat and Model.GradFlat starting at Offset.
type Param struct {
	Name   string // Hugging Face name, e.g. "transformer.h.0.attn.c_attn.weight"
	Shape  []int  // Hugging Face shape (Conv1D weights [in, out])
	Offset int    // index of Data[0] in Model.Flat (and of Grad[0] in Model.GradFlat)
	Data   []float32
	Grad   []float32
	// Decay tells the optimizer to apply weight decay. It is true for tensors
	// of two or more dimensions (the matmul weights, both embeddings and
	// score.weight) and false for biases and LayerNorm parameters, as nanoGPT
	// and Hugging Face's Trainer do.
	Decay bool
}

// Size returns the number of elements of p.
func (p Param) Size() int { return len(p.Data) }

type paramSpec struct {
	name  string
	shape []int
}

func (s paramSpec) size() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

// layout lists the parameters in their order in the flat buffer: Hugging
// Face's module order.
func (c Config) layout() []paramSpec {
	d := c.NEmbd
	specs := []paramSpec{
		{"transformer.wte.weight", []int{c.VocabSize, d}},
		{"transformer.wpe.weight", []int{c.NPositions, d}},
	}
	for i := range c.NLayer {
		p := fmt.Sprintf("transformer.h.%d.", i)
		specs = append(specs,
			paramSpec{p + "ln_1.weight", []int{d}},
			paramSpec{p + "ln_1.bias", []int{d}},
			paramSpec{p + "attn.c_attn.weight", []int{d, 3 * d}},
			paramSpec{p + "attn.c_attn.bias", []int{3 * d}},
			paramSpec{p + "attn.c_proj.weight", []int{d, d}},
			paramSpec{p + "attn.c_proj.bias", []int{d}},
			paramSpec{p + "ln_2.weight", []int{d}},
			paramSpec{p + "ln_2.bias", []int{d}},
			paramSpec{p + "mlp.c_fc.weight", []int{d, 4 * d}},
			paramSpec{p + "mlp.c_fc.bias", []int{4 * d}},
			paramSpec{p + "mlp.c_proj.weight", []int{4 * d, d}},
			paramSpec{p + "mlp.c_proj.bias", []int{d}},
		)
	}
	specs = append(specs,
		paramSpec{"transformer.ln_f.weight", []int{d}},
		paramSpec{"transformer.ln_f.bias", []int{d}},
	)
	if c.RewardHead {
		specs = append(specs, paramSpec{"score.weight", []int{1, d}})
	}
	return specs
}

// block holds the views of one transformer block's parameters (or of their
// gradients).
type block struct {
	ln1w, ln1b     []float32
	attnW, attnB   []float32 // c_attn [d, 3d], [3d]
	aprojW, aprojB []float32 // attn.c_proj [d, d], [d]
	ln2w, ln2b     []float32
	fcW, fcB       []float32 // mlp.c_fc [d, 4d], [4d]
	mprojW, mprojB []float32 // mlp.c_proj [4d, d], [d]
}

// weights holds typed views of all parameters (or of all gradients).
type weights struct {
	wte, wpe   []float32
	blocks     []block
	lnfw, lnfb []float32
	score      []float32 // nil without a reward head
}

func makeWeights(c Config, flat []float32) weights {
	var w weights
	off := 0
	next := func(n int) []float32 {
		s := flat[off : off+n : off+n]
		off += n
		return s
	}
	d := c.NEmbd
	w.wte = next(c.VocabSize * d)
	w.wpe = next(c.NPositions * d)
	w.blocks = make([]block, c.NLayer)
	for i := range w.blocks {
		b := &w.blocks[i]
		b.ln1w, b.ln1b = next(d), next(d)
		b.attnW, b.attnB = next(d*3*d), next(3*d)
		b.aprojW, b.aprojB = next(d*d), next(d)
		b.ln2w, b.ln2b = next(d), next(d)
		b.fcW, b.fcB = next(d*4*d), next(4*d)
		b.mprojW, b.mprojB = next(4*d*d), next(d)
	}
	w.lnfw, w.lnfb = next(d), next(d)
	if c.RewardHead {
		w.score = next(d)
	}
	if off != len(flat) {
		panic("model: parameter layout does not tile the flat buffer")
	}
	return w
}

// Model is a GPT-2 with its parameters, gradients and activation workspace.
// A Model is not safe for concurrent use; its passes are internally
// parallel (kernels.Threads goroutines).
type Model struct {
	Config Config
	// Flat holds every parameter, in the order of Params.
	Flat []float32
	// GradFlat holds the gradients, in the same layout as Flat.
	GradFlat []float32

	params []Param
	index  map[string]int
	w, g   weights
	ws     workspace
}

// New returns a model for cfg with all parameters zero; call InitWeights or
// load a checkpoint into Flat (through Params).
func New(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.LayerNormEps == 0 {
		cfg.LayerNormEps = DefaultLayerNormEps
	}
	n := cfg.NumParams()
	m := &Model{
		Config:   cfg,
		Flat:     make([]float32, n),
		GradFlat: make([]float32, n),
		index:    make(map[string]int),
	}
	off := 0
	for i, s := range cfg.layout() {
		sz := s.size()
		m.params = append(m.params, Param{
			Name:   s.name,
			Shape:  s.shape,
			Offset: off,
			Data:   m.Flat[off : off+sz : off+sz],
			Grad:   m.GradFlat[off : off+sz : off+sz],
			Decay:  len(s.shape) >= 2,
		})
		m.index[s.name] = i
		off += sz
	}
	m.w = makeWeights(cfg, m.Flat)
	m.g = makeWeights(cfg, m.GradFlat)
	return m, nil
}

// Params returns the named parameter views, in flat-buffer order. The slice
// is shared: do not modify it (the tensors' contents may be modified).
func (m *Model) Params() []Param { return m.params }

// Param returns the parameter called name.
func (m *Model) Param(name string) (Param, bool) {
	i, ok := m.index[name]
	if !ok {
		return Param{}, false
	}
	return m.params[i], true
}

// ZeroGrad sets every gradient to zero.
func (m *Model) ZeroGrad() { clear(m.GradFlat) }

// InitStd is GPT-2's initializer_range.
const InitStd = 0.02

// InitWeights sets the parameters to GPT-2's initialisation (Hugging Face's
// GPT2PreTrainedModel._init_weights): every weight matrix and both
// embeddings N(0, 0.02); the residual projections attn.c_proj.weight and
// mlp.c_proj.weight N(0, 0.02/sqrt(2·n_layer)); biases 0; LayerNorm weights 1
// and biases 0; score.weight N(0, 0.02). Each tensor draws from its own PCG
// stream keyed by (seed, tensor name), so a tensor's values do not depend on
// which other tensors exist.
func (m *Model) InitWeights(seed uint64) {
	residStd := InitStd / math.Sqrt(2*float64(m.Config.NLayer))
	for _, p := range m.params {
		switch {
		case hasSuffix(p.Name, ".bias"):
			clear(p.Data)
		case hasSuffix(p.Name, "ln_1.weight"), hasSuffix(p.Name, "ln_2.weight"), hasSuffix(p.Name, "ln_f.weight"):
			for i := range p.Data {
				p.Data[i] = 1
			}
		default:
			std := InitStd
			if hasSuffix(p.Name, "c_proj.weight") {
				std = residStd
			}
			h := fnv.New64a()
			h.Write([]byte(p.Name))
			rng := rand.New(rand.NewPCG(seed, h.Sum64()))
			for i := range p.Data {
				p.Data[i] = float32(rng.NormFloat64() * std)
			}
		}
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}
