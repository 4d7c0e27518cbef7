package model

// layerActs holds the activations of one transformer block that its
// backward pass needs. Rows are packed (see span); the block's output rows
// are all packed rows except in the last block, whose output rows are only
// the query rows of the pass.
type layerActs struct {
	ln1, ln1Mean, ln1Rstd []float32 // [N, C], [N], [N]
	qkv                   []float32 // [N, 3C]
	att                   []float32 // [B, NH, T, T] attention probabilities
	xq                    []float32 // [NQ, C] residual input gathered at the query rows (last block only)
	ln1q, q               []float32 // [NQ, C] ln1 output and queries at the query rows (last block only)
	atty                  []float32 // [NQ, C] attention output before c_proj
	res2                  []float32 // [NQ, C] residual stream after the attention branch
	ln2, ln2Mean, ln2Rstd []float32 // [NQ, C], [NQ], [NQ]
	fch, fchT             []float32 // [NQ, 4C] c_fc output (with bias) and its GELU tanh
	gelu                  []float32 // [NQ, 4C] GELU output (input of mlp.c_proj)
	out                   []float32 // [NQ, C] block output
}

// Pass kinds, recorded so that a backward pass matches its forward pass.
const (
	passNone = iota
	passLM
	passReward
)

// workspace is a Model's activation memory, allocated for a capacity of
// rows (B·T) and attention entries (B·NH·T·T) and reused while the batch
// fits.
type workspace struct {
	capRows, capAtt, capB int
	// lean: the workspace of a model packed for inference, which no
	// backward pass can follow. Its blocks share two sets of activations in
	// turn (block l writes set l mod 2 while it reads block l-1's output
	// from the other), and it has no backward scratch: 2 blocks' memory in
	// place of NLayer, the same arithmetic on the same values.
	lean bool

	// The current pass.
	kind        int
	train       bool
	seed        uint64
	B, T, N, NQ int
	spans       []span  // output spans of the last block
	full        []span  // spans of the other blocks (all rows are queries)
	identity    bool    // the last block's output rows are all packed rows
	tok         []int32 // per packed row
	ids         rowIDs  // per packed row
	qids        rowIDs  // per output row
	qsrc        []int32 // output row -> packed row

	enc                   []float32 // [N, C]
	layers                []layerActs
	lnf, lnfMean, lnfRstd []float32 // [NQ, C], [NQ], [NQ]

	// Backward scratch, shared by the blocks.
	dA, dB, dH, dLn []float32 // [rows, C]
	dG              []float32 // [rows, 4C]
	dqkv            []float32 // [rows, 3C]
	dq              []float32 // [rows, C] query gradients of a compact last block
	attScratch      []float32 // [2, B, NH, T, T]
	partials        []float32 // [2, nChunks(rows), 4C]

	// Reward head.
	rewards []float32
	lastRow []int // output row of each sequence's last token

	// LM head.
	lmRows    []int32 // output rows with a non-zero loss weight
	lmIn      []float32
	logits    []float32 // [NL, V]: logits, then their gradient
	lmTargets []int32
	lmW       []float32
	lmLoss    []float32 // per lmRows entry
	lmNorm    float32
	tokLoss   []float32 // [B·T] per-token cross-entropy (0 where the weight is 0)

	ints []int // per-sequence scratch of the pass set-up
}

// FreeWorkspace drops the model's activation memory (the next pass
// allocates it again). A model scored once and kept, as an evaluation keeps
// members and averages, holds its workspace otherwise: about 280 MB for
// the synthetic task's model at 128 sequences of 96 tokens, unpacked (a
// model packed before its first pass keeps a lean workspace, two blocks'
// activations and no backward scratch).
func (m *Model) FreeWorkspace() { m.ws = workspace{} }

// ensure sizes the workspace for a batch of B sequences of T tokens: lean
// while the model is packed for inference and its workspace has not been
// full before (a model that trains keeps its full workspace, so that
// packing it to sample does not reallocate every step).
func (m *Model) ensure(B, T int) {
	ws := &m.ws
	c := m.Config
	rows, att := B*T, B*c.NHead*T*T
	lean := m.packed != nil && (ws.lean || ws.capRows == 0)
	if rows <= ws.capRows && att <= ws.capAtt && B <= ws.capB && (!ws.lean || lean) {
		return
	}
	rows, att, B = max(rows, ws.capRows), max(att, ws.capAtt), max(B, ws.capB)
	C := c.NEmbd
	f := func(n int) []float32 { return make([]float32, n) }
	*ws = workspace{capRows: rows, capAtt: att, capB: B, lean: lean, ints: ws.ints}
	ws.tok = make([]int32, rows)
	ws.ids = rowIDs{make([]int32, rows), make([]int32, rows)}
	ws.qids = rowIDs{make([]int32, rows), make([]int32, rows)}
	ws.qsrc = make([]int32, rows)
	ws.enc = f(rows * C)
	sets := c.NLayer
	if lean {
		sets = min(2, c.NLayer)
	}
	acts := make([]layerActs, sets)
	for s := range acts {
		a := &acts[s]
		a.ln1, a.ln1Mean, a.ln1Rstd = f(rows*C), f(rows), f(rows)
		a.qkv = f(rows * 3 * C)
		a.att = f(att)
		if s == (c.NLayer-1)%sets {
			a.xq, a.ln1q, a.q = f(rows*C), f(rows*C), f(rows*C)
		}
		a.atty, a.res2 = f(rows*C), f(rows*C)
		a.ln2, a.ln2Mean, a.ln2Rstd = f(rows*C), f(rows), f(rows)
		a.fch, a.fchT, a.gelu = f(rows*4*C), f(rows*4*C), f(rows*4*C)
		a.out = f(rows * C)
	}
	ws.layers = make([]layerActs, c.NLayer)
	for l := range ws.layers {
		ws.layers[l] = acts[l%sets] // the same buffers when lean
	}
	ws.lnf, ws.lnfMean, ws.lnfRstd = f(rows*C), f(rows), f(rows)
	ws.attScratch = f(2 * att)
	if !lean {
		ws.dA, ws.dB, ws.dH, ws.dLn = f(rows*C), f(rows*C), f(rows*C), f(rows*C)
		ws.dG = f(rows * 4 * C)
		ws.dqkv = f(rows * 3 * C)
		ws.dq = f(rows * C)
		ws.partials = f(2 * nChunks(rows) * 4 * C)
	}
	ws.spans = make([]span, B)
	ws.full = make([]span, B)
	ws.rewards = f(B)
	ws.lastRow = make([]int, B)
}
