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

// paramDef is one row of the parameter table: a tensor's Hugging Face name
// after its prefix ("transformer.h.<l>." in block l, "transformer." for the
// embeddings and ln_f, none for score.weight), its shape and the field of
// weights that views it.
type paramDef struct {
	name  string
	shape func(c Config) []int
	view  func(w *weights, l int) *[]float32 // l is the block (0 outside the blocks)
}

// The parameter table. The flat buffer holds embedParams, then blockParams
// for every block, then finalParams and, with a reward head, headParams:
// Hugging Face's module order, which checkpoints on disk rely on. Params
// and the typed views (weights) are both derived from it, so they cannot
// disagree.
var (
	embedParams = []paramDef{
		{"wte.weight", func(c Config) []int { return []int{c.VocabSize, c.NEmbd} }, func(w *weights, _ int) *[]float32 { return &w.wte }},
		{"wpe.weight", func(c Config) []int { return []int{c.NPositions, c.NEmbd} }, func(w *weights, _ int) *[]float32 { return &w.wpe }},
	}
	blockParams = []paramDef{
		{"ln_1.weight", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].ln1w }},
		{"ln_1.bias", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].ln1b }},
		{"attn.c_attn.weight", matD(1, 3), func(w *weights, l int) *[]float32 { return &w.blocks[l].attnW }},
		{"attn.c_attn.bias", vecD(3), func(w *weights, l int) *[]float32 { return &w.blocks[l].attnB }},
		{"attn.c_proj.weight", matD(1, 1), func(w *weights, l int) *[]float32 { return &w.blocks[l].aprojW }},
		{"attn.c_proj.bias", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].aprojB }},
		{"ln_2.weight", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].ln2w }},
		{"ln_2.bias", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].ln2b }},
		{"mlp.c_fc.weight", matD(1, 4), func(w *weights, l int) *[]float32 { return &w.blocks[l].fcW }},
		{"mlp.c_fc.bias", vecD(4), func(w *weights, l int) *[]float32 { return &w.blocks[l].fcB }},
		{"mlp.c_proj.weight", matD(4, 1), func(w *weights, l int) *[]float32 { return &w.blocks[l].mprojW }},
		{"mlp.c_proj.bias", vecD(1), func(w *weights, l int) *[]float32 { return &w.blocks[l].mprojB }},
	}
	finalParams = []paramDef{
		{"ln_f.weight", vecD(1), func(w *weights, _ int) *[]float32 { return &w.lnfw }},
		{"ln_f.bias", vecD(1), func(w *weights, _ int) *[]float32 { return &w.lnfb }},
	}
	headParams = []paramDef{
		{"score.weight", func(c Config) []int { return []int{1, c.NEmbd} }, func(w *weights, _ int) *[]float32 { return &w.score }},
	}
)

// vecD is the shape [k·d], d = NEmbd.
func vecD(k int) func(Config) []int {
	return func(c Config) []int { return []int{k * c.NEmbd} }
}

// matD is the shape [r·d, k·d] (a Conv1D weight, [in, out]).
func matD(r, k int) func(Config) []int {
	return func(c Config) []int { return []int{r * c.NEmbd, k * c.NEmbd} }
}

// paramSpec is one parameter tensor of a configuration: the parameter
// table's row expanded for its block.
type paramSpec struct {
	name  string
	shape []int
	view  func(w *weights) *[]float32
}

func (s paramSpec) size() int {
	n := 1
	for _, d := range s.shape {
		n *= d
	}
	return n
}

// layout expands the parameter table for c, in flat-buffer order.
func (c Config) layout() []paramSpec {
	specs := make([]paramSpec, 0, len(embedParams)+c.NLayer*len(blockParams)+len(finalParams)+len(headParams))
	add := func(defs []paramDef, prefix string, l int) {
		for _, d := range defs {
			specs = append(specs, paramSpec{
				name:  prefix + d.name,
				shape: d.shape(c),
				view:  func(w *weights) *[]float32 { return d.view(w, l) },
			})
		}
	}
	add(embedParams, "transformer.", 0)
	for l := range c.NLayer {
		add(blockParams, fmt.Sprintf("transformer.h.%d.", l), l)
	}
	add(finalParams, "transformer.", 0)
	if c.RewardHead {
		add(headParams, "", 0)
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

// weights holds typed views of all parameters (or of all gradients), bound
// by New from the parameter table.
type weights struct {
	wte, wpe   []float32
	blocks     []block
	lnfw, lnfb []float32
	score      []float32 // nil without a reward head
}

// Model is a GPT-2 with its parameters, gradients and activation workspace.
// A Model is not safe for concurrent use; its passes are internally
// parallel (kernels.Threads goroutines).
type Model struct {
	Config Config
	// Flat holds every parameter, in the order of Params. Call Unpack
	// before writing it on a model packed for inference (PackForInference).
	Flat []float32
	// GradFlat holds the gradients, in the same layout as Flat.
	GradFlat []float32

	params []Param
	index  map[string]int
	w, g   weights
	ws     workspace
	// packed holds the weights packed by PackForInference (nil when not
	// packed).
	packed *packedWeights
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
	m.w.blocks = make([]block, cfg.NLayer)
	m.g.blocks = make([]block, cfg.NLayer)
	off := 0
	for i, s := range cfg.layout() {
		sz := s.size()
		p := Param{
			Name:   s.name,
			Shape:  s.shape,
			Offset: off,
			Data:   m.Flat[off : off+sz : off+sz],
			Grad:   m.GradFlat[off : off+sz : off+sz],
			Decay:  len(s.shape) >= 2,
		}
		m.params = append(m.params, p)
		m.index[s.name] = i
		*s.view(&m.w) = p.Data
		*s.view(&m.g) = p.Grad
		off += sz
	}
	return m, nil
}

// Params returns the named parameter views, in flat-buffer order. The slice
// is shared: do not modify it (the tensors' contents may be modified). It
// hands out the weights for writing, so it drops the panels of
// PackForInference (Unpack).
func (m *Model) Params() []Param {
	m.Unpack()
	return m.params
}

// Param returns the parameter called name. Like Params, it drops the
// panels of PackForInference.
func (m *Model) Param(name string) (Param, bool) {
	m.Unpack()
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
	m.Unpack()
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
