package model

import (
	"fmt"
	"math"
)

// drop returns the dropout of a site of layer l for the current pass.
func (m *Model) drop(l, site int) dropout {
	var p float32
	switch site {
	case siteEmbd:
		p = m.Config.EmbdPdrop
	case siteAttnProbs:
		p = m.Config.AttnPdrop
	default:
		p = m.Config.ResidPdrop
	}
	return newDropout(p, m.ws.train, m.ws.seed, l, site)
}

// checkShape validates a batch shape.
func (m *Model) checkShape(tokens []int32, B, T int) error {
	switch {
	case B < 1 || T < 1:
		return fmt.Errorf("model: batch shape B=%d, T=%d", B, T)
	case T > m.Config.NPositions:
		return fmt.Errorf("model: sequence length %d exceeds n_positions %d", T, m.Config.NPositions)
	case len(tokens) != B*T:
		return fmt.Errorf("model: %d tokens for B=%d, T=%d", len(tokens), B, T)
	}
	return nil
}

// setup packs a batch: sequence b uses tokens [0, lens[b]) and its
// last-block query rows are [qlos[b], lens[b]). It validates the tokens it
// reads and sizes the workspace.
func (m *Model) setup(tokens []int32, B, T int, lens, qlos []int, train bool, seed uint64) error {
	if err := m.checkPacked(); err != nil {
		return err
	}
	V := int32(m.Config.VocabSize)
	for b := range B {
		for t, tok := range tokens[b*T : b*T+lens[b]] {
			if tok < 0 || tok >= V {
				return fmt.Errorf("model: token %d at sequence %d position %d outside the vocabulary [0, %d)", tok, b, t, V)
			}
		}
	}
	m.ensure(B, T)
	ws := &m.ws
	ws.kind = passNone
	ws.train, ws.seed = train, seed
	ws.B, ws.T = B, T
	ws.spans, ws.full = ws.spans[:B], ws.full[:B]
	off, qoff := 0, 0
	for b := range B {
		n, qlo := lens[b], qlos[b]
		ws.full[b] = span{off: off, len: n, qlo: 0, qoff: off}
		ws.spans[b] = span{off: off, len: n, qlo: qlo, qoff: qoff}
		for t := range n {
			ws.tok[off+t] = tokens[b*T+t]
			ws.ids.seq[off+t], ws.ids.pos[off+t] = int32(b), int32(t)
		}
		for t := qlo; t < n; t++ {
			r := qoff + t - qlo
			ws.qsrc[r] = int32(off + t)
			ws.qids.seq[r], ws.qids.pos[r] = int32(b), int32(t)
		}
		off += n
		qoff += n - qlo
	}
	ws.N, ws.NQ = off, qoff
	ws.identity = off == qoff
	return nil
}

// forward runs the network on the packed batch up to the final LayerNorm,
// whose output ws.lnf holds the NQ output rows. after, when not nil, is
// called at the end of each block l, while its activations are still in
// ws.layers[l] (a lean workspace reuses them two blocks later).
func (m *Model) forward(after func(l int)) {
	ws := &m.ws
	c := m.Config
	C, NH, T, N := c.NEmbd, c.NHead, ws.T, ws.N
	eps := c.Eps()
	encoderForward(ws.enc, ws.tok, ws.ids, m.w.wte, m.w.wpe, N, C, m.drop(0, siteEmbd))
	x := ws.enc
	for l := range c.NLayer {
		a := &ws.layers[l]
		bw, pk := &m.w.blocks[l], m.packedBlock(l)
		layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, x, bw.ln1w, bw.ln1b, N, C, eps)
		nq, spans, ids, xq := m.blockRows(l, x)
		q, ldq := a.qkv, 3*C
		if nq == N {
			qkvForward(a.qkv, a.ln1, bw, pk, N, C)
		} else {
			// A compact last block: keys and values at every row, queries
			// only at the output rows.
			matmulForwardLd(a.qkv[C:], 3*C, a.ln1, bw.attnW[C:], 3*C, pk.kv, bw.attnB[C:], N, C, 2*C)
			gatherRows(a.ln1q, a.ln1, ws.qsrc, nq, C)
			matmulForwardLd(a.q, C, a.ln1q, bw.attnW, 3*C, pk.q, bw.attnB[:C], nq, C, C)
			q, ldq = a.q, C
		}
		attentionForward(a.atty, a.att, ws.attScratch, q, ldq, a.qkv, spans, T, NH, C, m.drop(l, siteAttnProbs))
		matmulForward(a.res2, a.atty, bw.aprojW, pk.aproj, nil, nq, C, C)
		residualForward(a.res2, xq, a.res2, bw.aprojB, nq, C, ids, m.drop(l, siteAttnResid))
		layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, bw.ln2w, bw.ln2b, nq, C, eps)
		matmulForward(a.fch, a.ln2, bw.fcW, pk.fc, nil, nq, C, 4*C)
		biasGeluForward(a.gelu, a.fchT, a.fch, bw.fcB, nq, 4*C)
		matmulForward(a.out, a.gelu, bw.mprojW, pk.mproj, nil, nq, 4*C, C)
		residualForward(a.out, a.res2, a.out, bw.mprojB, nq, C, ids, m.drop(l, siteMLPResid))
		if after != nil {
			after(l)
		}
		x = a.out
	}
	layernormForward(ws.lnf, ws.lnfMean, ws.lnfRstd, x, m.w.lnfw, m.w.lnfb, ws.NQ, C, eps)
}

// blockRows returns the output rows of block l: their count, the attention
// spans, their dropout ids and the residual input at those rows (gathered
// from x, the block input, in the last block when it computes only some
// rows). It gathers on the forward pass only when gather is needed, which
// is the case exactly when x is not nil.
func (m *Model) blockRows(l int, x []float32) (int, []span, rowIDs, []float32) {
	ws := &m.ws
	if l < m.Config.NLayer-1 || ws.identity {
		return ws.N, ws.full, ws.ids, x
	}
	a := &ws.layers[l]
	if x != nil {
		C := m.Config.NEmbd
		parallelRows(ws.NQ, C, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				src := int(ws.qsrc[r])
				copy(a.xq[r*C:r*C+C], x[src*C:src*C+C])
			}
		})
	}
	return ws.NQ, ws.spans, ws.qids, a.xq
}

// lastTokenSetup validates lengths (nil: Hugging Face's first-pad rule)
// and packs the batch so that the last block computes only each
// sequence's last token.
func (m *Model) lastTokenSetup(tokens []int32, B, T int, lengths []int, train bool, seed uint64) error {
	if err := m.checkShape(tokens, B, T); err != nil {
		return err
	}
	if lengths == nil {
		var err error
		if lengths, err = m.Config.Lengths(tokens, B, T); err != nil {
			return err
		}
	}
	if len(lengths) != B {
		return fmt.Errorf("model: %d lengths for %d sequences", len(lengths), B)
	}
	qlos := m.scratchInts(B)
	for b, n := range lengths {
		if n < 1 || n > T {
			return fmt.Errorf("model: sequence %d has length %d, want 1..%d", b, n, T)
		}
		qlos[b] = n - 1
	}
	if err := m.setup(tokens, B, T, lengths, qlos, train, seed); err != nil {
		return err
	}
	for b := range B {
		m.ws.lastRow[b] = b
	}
	return nil
}

// RewardForward computes the reward of each of the B sequences of tokens
// ([B, T], right-padded): score.weight applied to the final LayerNorm
// output at the sequence's last token, position lengths[b]-1. With lengths
// nil the length is the index of the first PadID token, or T (Hugging
// Face's rule). With train, dropout is active, its masks keyed by
// dropoutSeed. The returned slice [B] is valid until the next pass;
// RewardBackward may follow.
func (m *Model) RewardForward(tokens []int32, B, T int, lengths []int, train bool, dropoutSeed uint64) ([]float32, error) {
	if !m.Config.RewardHead {
		return nil, fmt.Errorf("model: RewardForward on a model without a reward head (score.weight)")
	}
	if err := m.lastTokenSetup(tokens, B, T, lengths, train, dropoutSeed); err != nil {
		return nil, err
	}
	m.forward(nil)
	ws := &m.ws
	rewardForward(ws.rewards[:B], ws.lnf, ws.lastRow[:B], m.w.score, m.Config.NEmbd)
	ws.kind = passReward
	return ws.rewards[:B], nil
}

// Features returns the final LayerNorm output at each sequence's last token,
// [B, NEmbd] row-major (the input of the reward head, for linear probes),
// computed without dropout. lengths is as for RewardForward. The slice is
// valid until the next pass. No backward pass follows Features; to train
// the head alone on a frozen trunk, use RewardForward and
// RewardHeadBackward.
func (m *Model) Features(tokens []int32, B, T int, lengths []int) ([]float32, error) {
	if err := m.lastTokenSetup(tokens, B, T, lengths, false, 0); err != nil {
		return nil, err
	}
	m.forward(nil)
	return m.ws.lnf[:B*m.Config.NEmbd], nil
}

// LMForward computes the language-modelling loss of tokens ([B, T]) against
// targets ([B, T], usually tokens shifted by one): with weights w =
// lossMask (nil: all ones), loss = Σ w·CE / (number of non-zero weights),
// CE being the softmax cross-entropy of the tied LM head's logits. Weights
// may be any finite values (0/1 masks give the masked mean; per-token
// advantages give a policy-gradient loss). Positions after a sequence's last
// non-zero weight are not computed (they cannot affect the loss), and the
// head runs only on rows with a non-zero weight. Targets are read only where
// the weight is non-zero. With train, dropout is active, keyed by
// dropoutSeed. LMBackward may follow.
func (m *Model) LMForward(tokens []int32, B, T int, targets []int32, lossMask []float32, train bool, dropoutSeed uint64) (float32, error) {
	if err := m.checkShape(tokens, B, T); err != nil {
		return 0, err
	}
	if len(targets) != B*T {
		return 0, fmt.Errorf("model: %d targets for B=%d, T=%d", len(targets), B, T)
	}
	if lossMask != nil && len(lossMask) != B*T {
		return 0, fmt.Errorf("model: loss mask of %d values for B=%d, T=%d", len(lossMask), B, T)
	}
	V := int32(m.Config.VocabSize)
	weight := func(i int) float32 {
		if lossMask == nil {
			return 1
		}
		return lossMask[i]
	}
	lens, qlos := m.scratchInts(2 * B)[:B], m.ws.ints[B:2*B]
	clear(lens)
	clear(qlos)
	nl := 0
	for b := range B {
		first, last := -1, -1
		for t := range T {
			w := weight(b*T + t)
			if w == 0 {
				continue
			}
			if math.IsNaN(float64(w)) || math.IsInf(float64(w), 0) {
				return 0, fmt.Errorf("model: loss weight %g at sequence %d position %d", w, b, t)
			}
			if tg := targets[b*T+t]; tg < 0 || tg >= V {
				return 0, fmt.Errorf("model: target %d at sequence %d position %d outside the vocabulary [0, %d)", tg, b, t, V)
			}
			if first < 0 {
				first = t
			}
			last = t
			nl++
		}
		if first >= 0 {
			lens[b], qlos[b] = last+1, first
		}
	}
	if nl == 0 {
		return 0, fmt.Errorf("model: LMForward with every loss weight zero")
	}
	if err := m.setup(tokens, B, T, lens, qlos, train, dropoutSeed); err != nil {
		return 0, err
	}
	m.forward(nil)

	ws := &m.ws
	C, Vi := m.Config.NEmbd, m.Config.VocabSize
	ws.lmRows = growInt32(ws.lmRows, nl)
	ws.lmTargets = growInt32(ws.lmTargets, nl)
	ws.lmW = growF32(ws.lmW, nl)
	ws.lmLoss = growF32(ws.lmLoss, nl)
	ws.logits = growF32(ws.logits, nl*Vi)
	ws.tokLoss = growF32(ws.tokLoss, B*T)
	i := 0
	for b, sp := range ws.spans {
		for t := sp.qlo; t < sp.len; t++ {
			if w := weight(b*T + t); w != 0 {
				ws.lmRows[i] = int32(sp.qoff + t - sp.qlo)
				ws.lmTargets[i] = targets[b*T+t]
				ws.lmW[i] = w
				i++
			}
		}
	}
	if nl == ws.NQ {
		ws.lmIn = ws.lnf[:nl*C]
	} else {
		ws.lmIn = growF32(ws.lmIn, nl*C)
		gatherRows(ws.lmIn, ws.lnf, ws.lmRows, nl, C)
	}
	m.lmHead(ws.logits, ws.lmIn, nl)
	ws.lmNorm = float32(nl)
	crossEntropy(ws.logits, ws.lmLoss, ws.lmTargets, ws.lmW, nl, Vi, ws.lmNorm)
	var sum float64
	clear(ws.tokLoss)
	i = 0
	for b, sp := range ws.spans {
		for t := sp.qlo; t < sp.len; t++ {
			if weight(b*T+t) != 0 {
				ws.tokLoss[b*T+t] = ws.lmLoss[i]
				sum += float64(ws.lmW[i]) * float64(ws.lmLoss[i])
				i++
			}
		}
	}
	ws.kind = passLM
	return float32(sum / float64(nl)), nil
}

// TokenLosses returns the per-token cross-entropy of the last LMForward,
// [B, T] (−log p(target), unweighted; 0 where the loss weight is 0). The
// slice is valid until the next pass.
func (m *Model) TokenLosses() []float32 {
	if m.ws.kind != passLM {
		return nil
	}
	return m.ws.tokLoss[:m.ws.B*m.ws.T]
}

// Logits returns the LM logits of every position of tokens ([B, T]), as
// [B·T, VocabSize] row-major, computed without dropout. The slice is valid
// until the next pass. No backward pass follows.
func (m *Model) Logits(tokens []int32, B, T int) ([]float32, error) {
	if err := m.checkShape(tokens, B, T); err != nil {
		return nil, err
	}
	lens, qlos := m.scratchInts(2 * B)[:B], m.ws.ints[B:2*B]
	for b := range B {
		lens[b], qlos[b] = T, 0
	}
	if err := m.setup(tokens, B, T, lens, qlos, false, 0); err != nil {
		return nil, err
	}
	m.forward(nil)
	ws := &m.ws
	V, N := m.Config.VocabSize, ws.N
	ws.logits = growF32(ws.logits, N*V)
	m.lmHead(ws.logits, ws.lnf, N)
	return ws.logits[:N*V], nil
}

func gatherRows(dst, src []float32, rows []int32, n, C int) {
	parallelRows(n, C, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := int(rows[i])
			copy(dst[i*C:i*C+C], src[r*C:r*C+C])
		}
	})
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// scratchInts returns n ints of reusable scratch (the per-sequence lengths
// of a pass).
func (m *Model) scratchInts(n int) []int {
	if cap(m.ws.ints) < n {
		m.ws.ints = make([]int, n)
	}
	m.ws.ints = m.ws.ints[:n]
	return m.ws.ints
}
