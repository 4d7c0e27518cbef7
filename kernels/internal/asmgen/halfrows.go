package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// halfRows emits bf16RowsAVX512xR: the dot products of R rows of A with
// one BF16 row of B, widening B in registers (VPMOVZXWD, VPSLLD) instead
// of through a float32 buffer: decoding's products, where B is read once
// per token and the widened copy was half of a step. One accumulator a
// row; the sum over the 16 lanes at the end in a fixed tree.
func halfRows(r int) {
	name := fmt.Sprintf("bf16RowsAVX512x%d", r)
	TEXT(name, NOSPLIT, "func(a *float32, lda int, w *uint16, k16 int, out *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s sets out[i] = Σ_p a[i·lda/4 + p] · bf16(w[p]) for i < %d, p < 16·k16 (lda in bytes, k16 >= 1).", name, r))
	base := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	rows := make([]GPVirtual, r)
	for i := range rows {
		rows[i] = GP64()
		if i == 0 {
			MOVQ(base, rows[i])
		} else {
			LEAQ(Mem{Base: rows[i-1], Index: lda, Scale: 1}, rows[i])
		}
	}
	w := Load(Param("w"), GP64())
	n := Load(Param("k16"), GP64())
	off := GP64()
	XORQ(off, off)
	acc := make([]VecVirtual, r)
	for i := range acc {
		acc[i] = ZMM()
		VPXORD(acc[i], acc[i], acc[i])
	}
	Label(name + "_loop")
	wv := ZMM()
	VPMOVZXWD(Mem{Base: w}, wv)
	VPSLLD(U8(16), wv, wv)
	for i := range acc {
		VFMADD231PS(Mem{Base: rows[i], Index: off, Scale: 1}, wv, acc[i])
	}
	ADDQ(U8(32), w)
	ADDQ(U8(64), off)
	DECQ(n)
	JNZ(LabelRef(name + "_loop"))

	out := Load(Param("out"), GP64())
	for i, z := range acc {
		hi := YMM()
		VEXTRACTF64X4(U8(1), z, hi)
		lo := z.AsY()
		VADDPS(hi, lo, lo)
		x := z.AsX()
		h := XMM()
		VEXTRACTF128(U8(1), lo, h)
		VADDPS(h, x, x)
		VMOVHLPS(x, x, h)
		VADDPS(h, x, x)
		VMOVSHDUP(x, h)
		VADDSS(h, x, x)
		VMOVSS(x, Mem{Base: out, Disp: 4 * i})
	}
	VZEROUPPER()
	RET()
}
