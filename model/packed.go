package model

import (
	"errors"
	"fmt"

	"github.com/warm-rm/warm/kernels"
)

// Pre-packed weights for inference. A forward pass multiplies by the same
// four weight matrices a block (c_attn, attn.c_proj, mlp.c_fc,
// mlp.c_proj), and kernels.Gemm lays each out again in its micro-kernel's
// panels on every call. A model that only scores for its lifetime (a
// server, warm score, warm eval) packs them once with PackForInference;
// kernels.GemmPacked then reads the panels, with Gemm's bits, so a packed
// pass gives exactly the unpacked pass's outputs.
//
// The panels are a copy of the weights, so a change to the weights that
// does not drop them would go on scoring with the old ones. That is made
// impossible or loud:
//
//   - Unpack drops them; so do Params, Param and InitWeights, the ways the
//     weights are handed out for writing (checkpoint loading, optimisers,
//     copying between models), and sweep.Average before it overwrites a
//     model;
//   - the backward passes refuse a packed model: training changes the
//     weights under the copy;
//   - Flat itself cannot be guarded, so every pass of a packed model first
//     compares a few elements of each packed matrix with the weights
//     (kernels.PackedB.Matches, rotating over the matrix from pass to
//     pass): a difference drops the panels and fails the pass with an
//     error saying so. An optimiser step, an average or a checkpoint read
//     into Flat changes nearly every weight and shows at once.

// probeCount is how many elements of each packed matrix a pass compares
// with the weights: at most a few thousand comparisons a pass for a
// GPT-2, next to tens of millions of multiply-adds a row.
const probeCount = 64

// packedWeights are a model's pre-packed matmul weights.
type packedWeights struct {
	blocks []packedBlock
	// head is the tied LM head wteᵀ ([C, V]), packed for a model without
	// a reward head (a policy: its decoding multiplies by it every step);
	// nil for a reward model, which never runs it.
	head *kernels.PackedB
	// probe is the pass count, which rotates the elements the staleness
	// check compares.
	probe int
}

// packedBlock holds one block's packed weights. c_attn is packed whole
// (qkv) except in the last block, which multiplies its query columns
// [0, C) and its key and value columns [C, 3C) separately (a compact pass
// computes queries at the output rows only): there q and kv hold them and
// qkv is nil. Every column of the product is the same computation either
// way. In a model that is not packed every field is nil.
type packedBlock struct {
	qkv, q, kv, aproj, fc, mproj *kernels.PackedB
}

// unpackedBlock is the packedBlock of a model that is not packed.
var unpackedBlock packedBlock

// namedPacked is a packed matrix and the name of the weight it holds.
type namedPacked struct {
	name string
	pb   *kernels.PackedB
}

// matrices names the block's packed matrices (nil ones included); an
// array, so that a pass's check allocates nothing.
func (p *packedBlock) matrices() [6]namedPacked {
	return [6]namedPacked{{"attn.c_attn.weight", p.qkv}, {"attn.c_attn.weight (queries)", p.q},
		{"attn.c_attn.weight (keys, values)", p.kv}, {"attn.c_proj.weight", p.aproj},
		{"mlp.c_fc.weight", p.fc}, {"mlp.c_proj.weight", p.mproj}}
}

// PackForInference lays out the weight matrices of every block (attention
// c_attn and c_proj, MLP c_fc and c_proj), and for a language model
// (no reward head) the tied LM head wteᵀ, once in the GEMM micro-kernel's
// panels, and makes the forward passes (RewardForward, Rewards, Features,
// LMForward, Logits, the KV cache) read them instead of packing the
// weights again on every product. Outputs are bit-identical to an
// unpacked model's, for any kernels.Threads(): kernels.GemmPacked gives
// Gemm's bits. Calling it again packs the current weights afresh.
//
// It is for a model that only runs inference from now on: the panels are
// a snapshot of the weights. Unpack drops them before the weights change;
// Params, Param and InitWeights drop them too, the backward passes refuse
// a packed model, and a pass that finds the weights changed under the
// panels fails with an error (and drops them) rather than score with
// stale ones. See PackedBytes for the memory it costs: about the model's
// F32 weights a second time, less the position embeddings (and less the
// token embeddings for a reward model).
//
// A caller that samples from a model it then trains (RL) packs it for the
// generation and unpacks it after: packing costs about one product of a
// row per weight, and a decoding step multiplies every weight by the
// batch's rows, so a generation of T tokens packs once instead of T+1
// times (sample.Generate does this).
//
// The panels fit the micro-kernel in use (kernels.KernelName); after
// kernels.SetKernel the products fall back to packing per call (still
// Gemm's result with the new kernel) until PackForInference runs again.
func (m *Model) PackForInference() {
	c := m.Config
	C, L := c.NEmbd, c.NLayer
	pw := &packedWeights{blocks: make([]packedBlock, L)}
	for l := range L {
		bw, pb := &m.w.blocks[l], &pw.blocks[l]
		if l == L-1 {
			pb.q = kernels.PackB(false, C, C, bw.attnW, 3*C)
			pb.kv = kernels.PackB(false, C, 2*C, bw.attnW[C:], 3*C)
		} else {
			pb.qkv = kernels.PackB(false, C, 3*C, bw.attnW, 3*C)
		}
		pb.aproj = kernels.PackB(false, C, C, bw.aprojW, C)
		pb.fc = kernels.PackB(false, C, 4*C, bw.fcW, 4*C)
		pb.mproj = kernels.PackB(false, 4*C, C, bw.mprojW, C)
	}
	if !c.RewardHead {
		pw.head = kernels.PackB(true, C, c.VocabSize, m.w.wte, C)
	}
	m.packed = pw
}

// Unpack drops the panels of PackForInference (a no-op on a model that is
// not packed): the passes multiply by the weights in Flat again. Call it
// before changing the weights of a packed model through Flat.
func (m *Model) Unpack() { m.packed = nil }

// Packed reports whether the model holds packed weights
// (PackForInference, not dropped since).
func (m *Model) Packed() bool { return m.packed != nil }

// PackedBytes returns the memory the packed weights take: 12·d² floats a
// block (the four matrices, their columns padded to the kernel's panel
// width), plus V·d for a language model's head, 0 when the model is not
// packed. For GPT-2 small (d = 768, 12 blocks) that is 85M floats, 340 MB,
// beside 124M parameters in Flat, and 154 MB more for the head of a
// policy.
func (m *Model) PackedBytes() int {
	if m.packed == nil {
		return 0
	}
	n := 0
	for l := range m.packed.blocks {
		for _, x := range m.packed.blocks[l].matrices() {
			if x.pb != nil {
				n += x.pb.Bytes()
			}
		}
	}
	if m.packed.head != nil {
		n += m.packed.head.Bytes()
	}
	return n
}

// packedBlock returns block l's packed weights; every field is nil when
// the model is not packed.
func (m *Model) packedBlock(l int) *packedBlock {
	if m.packed == nil {
		return &unpackedBlock
	}
	return &m.packed.blocks[l]
}

// checkPacked compares a rotating sample of every packed matrix with the
// weights, before a pass of a packed model. On a difference it drops the
// panels and returns an error: the weights were changed without Unpack.
func (m *Model) checkPacked() error {
	pw := m.packed
	if pw == nil {
		return nil
	}
	start := pw.probe
	pw.probe++
	for l := range pw.blocks {
		for _, x := range pw.blocks[l].matrices() {
			if x.pb != nil && !x.pb.Matches(start, probeCount) {
				m.packed = nil
				return fmt.Errorf("model: transformer.h.%d.%s changed after PackForInference without Unpack: "+
					"the packed weights are dropped; this pass is refused rather than computed with the old ones", l, x.name)
			}
		}
	}
	if pw.head != nil && !pw.head.Matches(start, probeCount) {
		m.packed = nil
		return fmt.Errorf("model: transformer.wte.weight (the tied LM head) changed after PackForInference without Unpack: " +
			"the packed weights are dropped; this pass is refused rather than computed with the old ones")
	}
	return nil
}

// lmHead writes the tied head's logits out [n, V] = inp [n, C] · wteᵀ,
// through the packed head when the model has one (GemmPacked: Gemm's
// bits). wte is [V, C], not a Conv1D [C, V] weight, so this is not a
// matmulForward.
func (m *Model) lmHead(out, inp []float32, n int) {
	C, V := m.Config.NEmbd, m.Config.VocabSize
	if m.packed != nil && m.packed.head != nil {
		kernels.GemmPacked(n, 1, inp, C, m.packed.head, 0, out, V)
		return
	}
	kernels.Gemm(false, true, n, V, C, 1, inp, C, m.w.wte, C, 0, out, V)
}

// errPackedBackward is the backward passes' refusal of a packed model.
var errPackedBackward = errors.New("the model is packed for inference (PackForInference) and training would change " +
	"its weights under the packed copy: call Unpack first")

// errLeanBackward refuses a backward pass after a forward pass that ran
// packed: it kept only the activations inference needs.
var errLeanBackward = errors.New("the forward pass before it ran while the model was packed for inference and kept only " +
	"what inference needs: run the forward pass again after Unpack")

// qkvForward is c_attn on every row: out [N, 3C] = inp · attnW + attnB,
// through the block's packed weights when it has them (whole, or in the
// query and key/value parts of the last block).
func qkvForward(out, inp []float32, bw *block, pk *packedBlock, N, C int) {
	if pk.qkv == nil && pk.q != nil {
		matmulForwardLd(out, 3*C, inp, bw.attnW, 3*C, pk.q, bw.attnB[:C], N, C, C)
		matmulForwardLd(out[C:], 3*C, inp, bw.attnW[C:], 3*C, pk.kv, bw.attnB[C:], N, C, 2*C)
		return
	}
	matmulForward(out, inp, bw.attnW, pk.qkv, bw.attnB, N, C, 3*C)
}
