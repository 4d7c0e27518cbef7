package model

import (
	"fmt"

	"github.com/warm-rm/warm/kernels"
)

// backward propagates dlnf, the gradient of the final LayerNorm output rows
// [NQ, C] (it is overwritten), down to the embeddings, adding every
// parameter gradient into GradFlat.
func (m *Model) backward(dlnf []float32) {
	ws := &m.ws
	c := m.Config
	C, NH, T, N := c.NEmbd, c.NHead, ws.T, ws.N
	L := c.NLayer
	part := ws.partials

	// dres: the gradient of the residual stream at the current block output.
	dres, spare := ws.dB, ws.dA
	layernormBackward(dres, m.g.lnfw, m.g.lnfb, dlnf, ws.layers[L-1].out, m.w.lnfw, ws.lnfMean, ws.lnfRstd, ws.NQ, C, false, part)

	for l := L - 1; l >= 0; l-- {
		a := &ws.layers[l]
		bw, bg := &m.w.blocks[l], &m.g.blocks[l]
		x := ws.enc
		if l > 0 {
			x = ws.layers[l-1].out
		}
		nq, spans, ids, _ := m.blockRows(l, nil)

		// MLP branch: out = res2 + drop(gelu(ln2·Wfc + bfc)·Wproj + bproj).
		// dh may alias dres (no dropout): it is only read until dres is
		// next written.
		dh := residualBackward(ws.dH, bg.mprojB, dres, nq, C, ids, m.drop(l, siteMLPResid), part)
		matmulBackward(ws.dG, bg.mprojW, nil, dh, a.gelu, bw.mprojW, nq, 4*C, C, part)
		geluBackward(ws.dG, a.fch, a.fchT, bg.fcB, nq, 4*C, part)
		matmulBackward(ws.dLn, bg.fcW, nil, ws.dG, a.ln2, bw.fcW, nq, C, 4*C, part)
		// dres becomes the gradient of res2.
		layernormBackward(dres, bg.ln2w, bg.ln2b, ws.dLn, a.res2, bw.ln2w, a.ln2Mean, a.ln2Rstd, nq, C, true, part)

		// Attention branch: res2 = x + drop(attn(ln1)·Wproj + bproj).
		dh = residualBackward(ws.dH, bg.aprojB, dres, nq, C, ids, m.drop(l, siteAttnResid), part)
		matmulBackward(ws.dLn, bg.aprojW, nil, dh, a.atty, bw.aprojW, nq, C, C, part)
		dropA := m.drop(l, siteAttnProbs)
		if nq == N {
			attentionBackward(ws.dqkv, 3*C, ws.dqkv, ws.attScratch, ws.dLn, a.qkv, a.qkv, a.att, spans, T, NH, C, dropA)
			matmulBackward(ws.dLn, bg.attnW, bg.attnB, ws.dqkv, a.ln1, bw.attnW, N, C, 3*C, part)
		} else {
			attentionBackward(ws.dq, C, ws.dqkv, ws.attScratch, ws.dLn, a.q, a.qkv, a.att, spans, T, NH, C, dropA)
			// Keys and values: every row.
			matmulBackwardLd(ws.dLn, bg.attnW[C:], bg.attnB[C:], ws.dqkv[C:], 3*C, a.ln1, bw.attnW[C:], 3*C, N, C, 2*C, part)
			// Queries: the output rows, added into their packed rows.
			matmulBackwardLd(ws.dH, bg.attnW, bg.attnB[:C], ws.dq, C, a.ln1q, bw.attnW, 3*C, nq, C, C, part)
			scatterAdd(ws.dLn, ws.dH, ws.qsrc, nq, C)
		}
		layernormBackward(spare, bg.ln1w, bg.ln1b, ws.dLn, x, bw.ln1w, a.ln1Mean, a.ln1Rstd, N, C, false, part)

		// Residual path: add the gradient of res2 at the block's query rows.
		if nq == N {
			addInto(spare, dres, N, C)
		} else {
			scatterAdd(spare, dres, ws.qsrc, nq, C)
		}
		dres, spare = spare, dres
	}
	encoderBackward(m.g.wte, m.g.wpe, dres, ws.tok, ws.ids, N, C, m.drop(0, siteEmbd))
}

// scatterAdd adds row r of src into row rows[r] of dst (distinct rows).
func scatterAdd(dst, src []float32, rows []int32, n, C int) {
	parallelRows(n, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d := dst[int(rows[r])*C:][:C]
			for j, v := range src[r*C : r*C+C] {
				d[j] += v
			}
		}
	})
}

func addInto(dst, src []float32, N, C int) {
	parallelRows(N, C, func(lo, hi int) {
		d := dst[lo*C : hi*C]
		for i, v := range src[lo*C : hi*C] {
			d[i] += v
		}
	})
}

// RewardBackward adds into GradFlat the gradient of Σ_b dRewards[b]·r_b,
// r being the rewards of the last RewardForward.
func (m *Model) RewardBackward(dRewards []float32) error {
	ws := &m.ws
	if err := m.checkRewardGrad(dRewards); err != nil {
		return err
	}
	if ws.lean {
		return fmt.Errorf("model: RewardBackward: %w", errLeanBackward)
	}
	C := m.Config.NEmbd
	dlnf := ws.dA[:ws.NQ*C]
	clear(dlnf)
	rewardBackward(dlnf, m.g.score, dRewards, ws.lnf, ws.lastRow[:ws.B], m.w.score, C)
	m.backward(dlnf)
	return nil
}

// RewardHeadBackward adds into GradFlat only the gradient of score.weight
// for Σ_b dRewards[b]·r_b: the backward pass of a frozen trunk (linear
// probe).
func (m *Model) RewardHeadBackward(dRewards []float32) error {
	ws := &m.ws
	if err := m.checkRewardGrad(dRewards); err != nil {
		return err
	}
	rewardBackward(nil, m.g.score, dRewards, ws.lnf, ws.lastRow[:ws.B], m.w.score, m.Config.NEmbd)
	return nil
}

func (m *Model) checkRewardGrad(dRewards []float32) error {
	if m.packed != nil {
		return fmt.Errorf("model: RewardBackward: %w", errPackedBackward)
	}
	if m.ws.kind != passReward {
		return fmt.Errorf("model: RewardBackward: %w", errNoForward)
	}
	if len(dRewards) != m.ws.B {
		return fmt.Errorf("model: RewardBackward: %d reward gradients for %d sequences", len(dRewards), m.ws.B)
	}
	return nil
}

// LMBackward adds into GradFlat the gradient of the loss of the last
// LMForward.
func (m *Model) LMBackward() error {
	ws := &m.ws
	if m.packed != nil {
		return fmt.Errorf("model: LMBackward: %w", errPackedBackward)
	}
	if ws.kind != passLM {
		return fmt.Errorf("model: LMBackward: %w", errNoForward)
	}
	if ws.lean {
		return fmt.Errorf("model: LMBackward: %w", errLeanBackward)
	}
	C, V := m.Config.NEmbd, m.Config.VocabSize
	nl := len(ws.lmRows)
	dlnf := ws.dA[:ws.NQ*C]
	// d(head input) = dlogits · wte; dwte += dlogitsᵀ · (head input).
	// (wte is [V, C], the transpose of matmulBackward's Conv1D weight: the
	// GEMMs are written out.)
	if nl == ws.NQ {
		kernels.Gemm(false, false, nl, C, V, 1, ws.logits, V, m.w.wte, C, 0, dlnf, C)
	} else {
		clear(dlnf)
		tmp := ws.dH[:nl*C]
		kernels.Gemm(false, false, nl, C, V, 1, ws.logits, V, m.w.wte, C, 0, tmp, C)
		for i, r := range ws.lmRows {
			copy(dlnf[int(r)*C:int(r)*C+C], tmp[i*C:i*C+C])
		}
	}
	kernels.Gemm(true, false, V, C, nl, 1, ws.logits, V, ws.lmIn, C, 1, m.g.wte, C)
	m.backward(dlnf)
	return nil
}
