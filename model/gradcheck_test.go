package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// fdGrad returns the central finite differences of f with respect to every
// element of x (perturbed in place and restored).
func fdGrad(f func() float64, x []float64, eps float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + eps
		fp := f()
		x[i] = v - eps
		fm := f()
		x[i] = v
		g[i] = (fp - fm) / (2 * eps)
	}
	return g
}

// gradErr returns max|a−n| / max(max|a|, max|n|): the error relative to
// the tensor's scale.
func gradErr(a []float32, n []float64) float64 { return gradErrFloor(a, n, 0) }

// gradErrFloor is gradErr with the scale at least floor.
func gradErrFloor(a []float32, n []float64, floor float64) float64 {
	if len(a) != len(n) {
		panic("gradErr: lengths differ")
	}
	var diff, scale float64
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-n[i]))
		scale = math.Max(scale, math.Max(math.Abs(float64(a[i])), math.Abs(n[i])))
	}
	scale = math.Max(scale, floor)
	if scale == 0 {
		return 0
	}
	return diff / scale
}

// checkGrad compares an analytic gradient with the finite differences of
// the float64 reference, failing above tol.
func checkGrad(name string, a []float32, f func() float64, x []float64, tol float64) error {
	n := fdGrad(f, x, 1e-6)
	e := gradErr(a, n)
	if testing.Verbose() {
		fmt.Printf("    grad check %-8s error %.2e (tol %.0e)\n", name, e, tol)
	}
	if e > tol || math.IsNaN(e) {
		return fmt.Errorf("%s: gradient error %.3g > %.3g", name, e, tol)
	}
	return nil
}

func dot(a []float64, b []float32) float64 {
	var s float64
	for i, v := range a {
		s += v * float64(b[i])
	}
	return s
}

func forwardErr(a []float32, ref []float64) float64 {
	return gradErr(a, ref)
}

// opTol is the tolerance of the per-op checks: float32 backward against
// float64 finite differences. Observed errors are around 1e-7.
const opTol = 2e-5

func TestGradEncoder(t *testing.T) {
	for _, p := range []float32{0, 0.3} {
		rng := rand.New(rand.NewPCG(1, 2))
		V, P, C, N := 5, 6, 8, 13
		wte, wpe := randF32(rng, V*C, 1), randF32(rng, P*C, 1)
		G := randF32(rng, N*C, 1)
		tok := make([]int32, N)
		ids := rowIDs{make([]int32, N), make([]int32, N)}
		for r := range N {
			tok[r] = int32(rng.IntN(V)) // repeated tokens on purpose
			ids.seq[r], ids.pos[r] = int32(r/P), int32(r%P)
		}
		d := newDropout(p, true, 9, 0, siteEmbd)
		out := make([]float32, N*C)
		encoderForward(out, tok, ids, wte, wpe, N, C, d)
		dwte, dwpe := make([]float32, V*C), make([]float32, P*C)
		dout := append([]float32(nil), G...)
		encoderBackward(dwte, dwpe, dout, tok, ids, N, C, d)

		te, pe := f64(wte), f64(wpe)
		ref := func() []float64 {
			o := make([]float64, N*C)
			for r := range N {
				mk := maskOf(d, d.rowKey(int(ids.seq[r]), int(ids.pos[r])), C)
				for j := range C {
					o[r*C+j] = (te[int(tok[r])*C+j] + pe[int(ids.pos[r])*C+j]) * mk[j]
				}
			}
			return o
		}
		if e := forwardErr(out, ref()); e > 1e-6 {
			t.Fatalf("p=%g: forward error %g", p, e)
		}
		loss := func() float64 { return dot(ref(), G) }
		for _, err := range []error{
			checkGrad("wte", dwte, loss, te, opTol),
			checkGrad("wpe", dwpe, loss, pe, opTol),
		} {
			if err != nil {
				t.Errorf("p=%g: %v", p, err)
			}
		}
	}
}

// lnBackwardFn is the signature of layernormBackward, so that the test can
// show that a broken variant fails the check.
type lnBackwardFn func(dinp, dw, db, dout, inp, w, mean, rstd []float32, N, C int, accumulate bool, partials []float32)

func gradCheckLayerNorm(back lnBackwardFn, accumulate bool) error {
	rng := rand.New(rand.NewPCG(3, 4))
	N, C := 70, 12 // more than two row chunks
	x := randF32(rng, N*C, 2)
	for r := range N { // rows with an offset, as in a residual stream
		for j := range C {
			x[r*C+j] += float32(r % 3)
		}
	}
	w, b := randF32(rng, C, 1), randF32(rng, C, 1)
	G := randF32(rng, N*C, 1)
	out, mean, rstd := make([]float32, N*C), make([]float32, N), make([]float32, N)
	layernormForward(out, mean, rstd, x, w, b, N, C, 1e-5)
	dx, dw, db := make([]float32, N*C), make([]float32, C), make([]float32, C)
	pre := randF32(rng, N*C, 1)
	if accumulate {
		copy(dx, pre)
	}
	back(dx, dw, db, G, x, w, mean, rstd, N, C, accumulate, make([]float32, 2*nChunks(N)*C))
	if accumulate {
		for i := range dx {
			dx[i] -= pre[i]
		}
	}
	xs, ws, bs := f64(x), f64(w), f64(b)
	ref := func() []float64 { return refLayerNorm(xs, ws, bs, N, C, 1e-5) }
	if e := forwardErr(out, ref()); e > 1e-6 {
		return fmt.Errorf("forward error %g", e)
	}
	loss := func() float64 { return dot(ref(), G) }
	for _, err := range []error{
		checkGrad("dx", dx, loss, xs, opTol),
		checkGrad("dw", dw, loss, ws, opTol),
		checkGrad("db", db, loss, bs, opTol),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestGradLayerNorm(t *testing.T) {
	for _, acc := range []bool{false, true} {
		if err := gradCheckLayerNorm(layernormBackward, acc); err != nil {
			t.Errorf("accumulate=%v: %v", acc, err)
		}
	}
}

// TestGradCheckCatchesBrokenBackward shows that the checks are tight enough
// to catch a single wrong term: LayerNorm's backward without the
// projection term, and GELU's derivative without its second term.
func TestGradCheckCatchesBrokenBackward(t *testing.T) {
	broken := func(dinp, dw, db, dout, inp, w, mean, rstd []float32, N, C int, accumulate bool, partials []float32) {
		layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd, N, C, accumulate, partials)
		// Remove the −x̂·mean(dnorm·x̂) term of row 5 only.
		r := 5
		var dnm float32
		for j := range C {
			xh := (inp[r*C+j] - mean[r]) * rstd[r]
			dnm += dout[r*C+j] * w[j] * xh
		}
		dnm /= float32(C)
		for j := range C {
			xh := (inp[r*C+j] - mean[r]) * rstd[r]
			dinp[r*C+j] += xh * dnm * rstd[r]
		}
	}
	err := gradCheckLayerNorm(broken, false)
	if err == nil {
		t.Fatal("the gradient check accepted a LayerNorm backward with a missing term")
	}
	t.Logf("broken LayerNorm backward rejected: %v", err)

	err = gradCheckGelu(func(d, x, th, db []float32, N, C int, partials []float32) {
		for i := range d[:N*C] { // first term of the derivative only
			d[i] *= 0.5 * (1 + th[i])
		}
		colSum(db, d, N, C, partials)
	})
	if err == nil {
		t.Fatal("the gradient check accepted a GELU backward with a missing term")
	}
	t.Logf("broken GELU backward rejected: %v", err)
}

func TestGradMatmul(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	N, IC, OC := 37, 9, 14
	x, W, b := randF32(rng, N*IC, 1), randF32(rng, IC*OC, 1), randF32(rng, OC, 1)
	G := randF32(rng, N*OC, 1)
	out := make([]float32, N*OC)
	matmulForward(out, x, W, nil, b, N, IC, OC)
	dx, dW, db := make([]float32, N*IC), make([]float32, IC*OC), make([]float32, OC)
	matmulBackward(dx, dW, db, G, x, W, N, IC, OC, make([]float32, nChunks(N)*OC))
	xs, Ws, bs := f64(x), f64(W), f64(b)
	ref := func() []float64 { return refMatmul(xs, Ws, bs, N, IC, OC) }
	if e := forwardErr(out, ref()); e > 1e-6 {
		t.Fatalf("forward error %g", e)
	}
	loss := func() float64 { return dot(ref(), G) }
	for _, err := range []error{
		checkGrad("dx", dx, loss, xs, opTol),
		checkGrad("dW", dW, loss, Ws, opTol),
		checkGrad("db", db, loss, bs, opTol),
	} {
		if err != nil {
			t.Error(err)
		}
	}
}

type geluBackwardFn func(d, x, th, db []float32, N, C int, partials []float32)

func gradCheckGelu(back geluBackwardFn) error {
	rng := rand.New(rand.NewPCG(7, 8))
	N, C := 40, 10
	x, b := randF32(rng, N*C, 2), randF32(rng, C, 1)
	G := randF32(rng, N*C, 1)
	pre := append([]float32(nil), x...)
	th, out := make([]float32, N*C), make([]float32, N*C)
	biasGeluForward(out, th, pre, b, N, C)
	d := append([]float32(nil), G...)
	db := make([]float32, C)
	back(d, pre, th, db, N, C, make([]float32, nChunks(N)*C))
	xs, bs := f64(x), f64(b)
	ref := func() []float64 {
		y := make([]float64, N*C)
		for i := range y {
			y[i] = xs[i] + bs[i%C]
		}
		return refGelu(y)
	}
	if e := forwardErr(out, ref()); e > 1e-6 {
		return fmt.Errorf("forward error %g", e)
	}
	loss := func() float64 { return dot(ref(), G) }
	if err := checkGrad("dx", d, loss, xs, opTol); err != nil {
		return err
	}
	return checkGrad("db", db, loss, bs, opTol)
}

func TestGradGelu(t *testing.T) {
	if err := gradCheckGelu(geluBackward); err != nil {
		t.Error(err)
	}
}

func TestGradResidual(t *testing.T) {
	for _, p := range []float32{0, 0.4} {
		rng := rand.New(rand.NewPCG(9, 10))
		N, C := 45, 8
		res, h, b := randF32(rng, N*C, 1), randF32(rng, N*C, 1), randF32(rng, C, 1)
		G := randF32(rng, N*C, 1)
		ids := rowIDs{make([]int32, N), make([]int32, N)}
		for r := range N {
			ids.seq[r], ids.pos[r] = int32(r/10), int32(r%10)
		}
		d := newDropout(p, true, 11, 1, siteMLPResid)
		out := make([]float32, N*C)
		hh := append([]float32(nil), h...)
		residualForward(out, res, hh, b, N, C, ids, d)
		db := make([]float32, C)
		dh := residualBackward(make([]float32, N*C), db, G, N, C, ids, d, make([]float32, nChunks(N)*C))
		rs, hs, bs := f64(res), f64(h), f64(b)
		ref := func() []float64 {
			o := make([]float64, N*C)
			for r := range N {
				mk := maskOf(d, d.rowKey(int(ids.seq[r]), int(ids.pos[r])), C)
				for j := range C {
					o[r*C+j] = rs[r*C+j] + (hs[r*C+j]+bs[j])*mk[j]
				}
			}
			return o
		}
		if e := forwardErr(out, ref()); e > 1e-6 {
			t.Fatalf("p=%g: forward error %g", p, e)
		}
		loss := func() float64 { return dot(ref(), G) }
		for _, err := range []error{
			checkGrad("dres", G, loss, rs, opTol), // the gradient of res is dout itself
			checkGrad("dh", dh, loss, hs, opTol),
			checkGrad("db", db, loss, bs, opTol),
		} {
			if err != nil {
				t.Errorf("p=%g: %v", p, err)
			}
		}
	}
}

func TestGradAttention(t *testing.T) {
	for _, compact := range []bool{false, true} {
		for _, p := range []float32{0, 0.25} {
			if err := gradCheckAttention(compact, p); err != nil {
				t.Errorf("compact=%v p=%g: %v", compact, p, err)
			}
		}
	}
}

// gradCheckAttention checks attention over packed sequences of different
// lengths (padding) and causal blocks. Full: every row is a query and q
// lives in qkv. Compact: each sequence has its own query range (all rows,
// a single row, the tail of a long sequence over several causal blocks, an
// empty sequence), with the queries in their own buffer.
func gradCheckAttention(compact bool, p float32) error {
	rng := rand.New(rand.NewPCG(12, 13))
	T, NH, C := 40, 2, 8
	lens := []int{37, 1, 20, 0, 9}
	qlos := []int{0, 0, 19, 0, 3}
	if !compact {
		qlos = make([]int, len(lens))
	}
	spans := make([]span, len(lens))
	off, qoff := 0, 0
	for b := range lens {
		spans[b] = span{off: off, len: lens[b], qlo: qlos[b], qoff: qoff}
		off += lens[b]
		qoff += lens[b] - qlos[b]
	}
	N, NQ := off, qoff
	qkv := randF32(rng, N*3*C, 1.5)
	q, ldq := qkv, 3*C
	if compact {
		q, ldq = randF32(rng, NQ*C, 1.5), C
	}
	G := randF32(rng, NQ*C, 1)
	att := make([]float32, len(lens)*NH*T*T)
	scratch := make([]float32, 2*len(att))
	out := make([]float32, NQ*C)
	d := newDropout(p, true, 14, 1, siteAttnProbs)
	attentionForward(out, att, scratch, q, ldq, qkv, spans, T, NH, C, d)
	dqkv := randF32(rng, N*3*C, 1) // garbage to be overwritten
	dq := dqkv
	if compact {
		dq = randF32(rng, NQ*C, 1)
	}
	attentionBackward(dq, ldq, dqkv, scratch, G, q, qkv, att, spans, T, NH, C, d)
	xs, qs := f64(qkv), f64(q)
	ref := func() []float64 {
		o := make([]float64, NQ*C)
		for b, sp := range spans {
			if sp.len == 0 {
				continue
			}
			seq := append([]float64(nil), xs[sp.off*3*C:(sp.off+sp.len)*3*C]...)
			if compact {
				for t := sp.qlo; t < sp.len; t++ {
					copy(seq[t*3*C:t*3*C+C], qs[(sp.qoff+t-sp.qlo)*C:])
				}
			}
			y := refAttention(seq, sp.len, sp.qlo, NH, C, func(h, t, n int) []float64 {
				return maskOf(d, d.rowKey(b, h<<32|t), n)
			})
			copy(o[sp.qoff*C:], y)
		}
		return o
	}
	if e := forwardErr(out, ref()); e > 1e-6 {
		return fmt.Errorf("forward error %g", e)
	}
	loss := func() float64 { return dot(ref(), G) }
	if compact {
		// The query columns of dqkv are not part of the result.
		for r := range N {
			clear(dqkv[r*3*C : r*3*C+C])
		}
		if err := checkGrad("dq", dq, loss, qs, opTol); err != nil {
			return err
		}
	}
	return checkGrad("dqkv", dqkv, loss, xs, opTol)
}

func TestGradCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	N, V := 9, 31
	logits := randF32(rng, N*V, 3)
	targets := make([]int32, N)
	for i := range targets {
		targets[i] = int32(rng.IntN(V))
	}
	w := []float32{1, 0, 1, 0.5, 1, -0.7, 1, 0, 2}
	norm := float32(7)
	xs, ws := f64(logits), f64(w)
	g := append([]float32(nil), logits...)
	losses := make([]float32, N)
	crossEntropy(g, losses, targets, w, N, V, norm)
	for r := range N {
		want := refCE(xs[r*V:r*V+V], targets[r:r+1], []float64{1}, 1, V, 1)
		if math.Abs(float64(losses[r])-want) > 1e-5*math.Max(1, want) {
			t.Fatalf("row %d: loss %g, want %g", r, losses[r], want)
		}
	}
	loss := func() float64 { return refCE(xs, targets, ws, N, V, float64(norm)) }
	if err := checkGrad("dlogits", g, loss, xs, opTol); err != nil {
		t.Error(err)
	}
}

func TestGradRewardHead(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	NQ, C := 7, 8
	x, score := randF32(rng, NQ*C, 1), randF32(rng, C, 1)
	rows := []int{6, 0, 3, 4} // the gather: a subset of rows, out of order
	G := randF32(rng, len(rows), 1)
	r := make([]float32, len(rows))
	rewardForward(r, x, rows, score, C)
	dx := randF32(rng, NQ*C, 1)
	keep := append([]float32(nil), dx...)
	dscore := make([]float32, C)
	rewardBackward(dx, dscore, G, x, rows, score, C)
	// Rows that are not gathered are left untouched by rewardBackward (the
	// caller clears dx); for the check, their gradient is zero.
	for _, i := range []int{1, 2, 5} {
		for j := range C {
			if dx[i*C+j] != keep[i*C+j] {
				t.Fatal("rewardBackward wrote a row that is not gathered")
			}
			dx[i*C+j] = 0
		}
	}
	xs, ss := f64(x), f64(score)
	ref := func() []float64 {
		o := make([]float64, len(rows))
		for b, row := range rows {
			for j := range C {
				o[b] += xs[row*C+j] * ss[j]
			}
		}
		return o
	}
	if e := forwardErr(r, ref()); e > 1e-6 {
		t.Fatalf("forward error %g", e)
	}
	loss := func() float64 { return dot(ref(), G) }
	for _, err := range []error{
		checkGrad("dx", dx, loss, xs, opTol),
		checkGrad("dscore", dscore, loss, ss, opTol),
	} {
		if err != nil {
			t.Error(err)
		}
	}
}
