// Command asmgen generates warm's amd64 assembly (kernels/asm_amd64.s and its
// Go declarations, asm_stubs_amd64.go) with avo: the GEMM micro-kernels, the
// 8×8 transposing packer, decoding's BF16 row products and the Dot/Axpy/Scal
// helpers. Run it through
// `go generate ./kernels`; see the go:generate line in kernels/gemm_amd64.go.
// It is its own module so that warm itself does not depend on avo.
//
// avo is used rather than hand-written assembly because the kernels are
// heavily unrolled register tiles (16 accumulators and their addressing):
// avo allocates the registers, computes the argument frame offsets from the
// Go signatures, and lets one Go function emit every tile shape. Other
// shapes can be tried by adding a tile to the list in main (AVX-512 12×32,
// 6×48 and 8×32 with embedded broadcasts were measured and dropped).
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kernelSig is the Go signature shared by every GEMM micro-kernel. Strides
// are in bytes.
const kernelSig = "func(kb int, a *float32, rsA, csA int, b *float32, rsB, psB int, c *float32, ldc, np int, alpha, beta float32, accum int)"

// tile describes one register-tile micro-kernel.
type tile struct {
	name  string
	mr    int  // rows of C per tile
	nv    int  // vectors per row of C
	zmm   bool // 512-bit vectors (AVX-512F) instead of 256-bit (AVX2+FMA)
	bcast bool // use AVX-512 embedded broadcast instead of VBROADCASTSS
}

func (t tile) width() int  { return map[bool]int{false: 8, true: 16}[t.zmm] }
func (t tile) vbytes() int { return 4 * t.width() }

func (t tile) vec() VecVirtual {
	if t.zmm {
		return ZMM()
	}
	return YMM()
}

func main() {
	ConstraintExpr("amd64,!purego")
	for _, t := range []tile{
		{name: "gemmKernAVX2x6x16", mr: 6, nv: 2},
		{name: "gemmKernAVX512x8x32", mr: 8, nv: 2, zmm: true},
	} {
		kernel(t)
	}
	transpose8()
	for _, r := range []int{8, 4, 2, 1} {
		halfRows(r)
	}
	dot()
	axpy()
	scal()
	Generate()
}

// rowAddr returns the address of row i of a strip whose row 0 is at
// bases[0], with rows 4q..4q+3 addressed from bases[q] by index registers
// rs (one row) and rs3 (three rows).
func rowAddr(bases []Register, rs, rs3 Register, i int) Mem {
	m := Mem{Base: bases[i/4]}
	switch i % 4 {
	case 1:
		m.Index, m.Scale = rs, 1
	case 2:
		m.Index, m.Scale = rs, 2
	case 3:
		m.Index, m.Scale = rs3, 1
	}
	return m
}

// kernel emits one micro-kernel. For each of np panels it computes the
// mr×nr product of an A strip (element (i,p) at a + i*rsA + p*csA) and a B
// panel (row p at b + p*rsB, panels psB apart), as kb fused multiply-adds per
// element in increasing p, then stores alpha*acc (+ beta*C when accum != 0)
// into C (rows ldc apart, panels nr floats apart).
func kernel(t tile) {
	TEXT(t.name, NOSPLIT, kernelSig)
	Pragma("noescape")
	nr := t.nv * t.width()
	Doc(fmt.Sprintf("%s computes np consecutive %dx%d tiles of C = alpha*A*B + beta*C.", t.name, t.mr, nr))

	bpanel := Load(Param("b"), GP64())
	cpanel := Load(Param("c"), GP64())
	np := Load(Param("np"), GP64())

	Label(t.name + "_panel")
	acc := make([][]VecVirtual, t.mr)
	for i := range acc {
		acc[i] = make([]VecVirtual, t.nv)
		for v := range acc[i] {
			acc[i][v] = t.vec()
			if t.zmm {
				VPXORD(acc[i][v], acc[i][v], acc[i][v]) // VXORPS zmm needs AVX512DQ
			} else {
				VXORPS(acc[i][v], acc[i][v], acc[i][v])
			}
		}
	}
	rs := Load(Param("rsA"), GP64())
	var rs3 Register = GP64()
	LEAQ(Mem{Base: rs, Index: rs, Scale: 2}, rs3)
	bases := []Register{Load(Param("a"), GP64())}
	for len(bases)*4 < t.mr {
		var nb Register = GP64()
		LEAQ(Mem{Base: bases[len(bases)-1], Index: rs, Scale: 4}, nb)
		bases = append(bases, nb)
	}
	// Prefetch this tile of C (first and last byte of each row) so that the
	// stores at the end do not wait for it.
	{
		ldc := Load(Param("ldc"), GP64())
		cr := GP64()
		MOVQ(cpanel, cr)
		for i := 0; i < t.mr; i++ {
			PREFETCHT0(Mem{Base: cr})
			PREFETCHT0(Mem{Base: cr, Disp: 4*nr - 4})
			if i < t.mr-1 {
				ADDQ(ldc, cr)
			}
		}
	}
	cs := Load(Param("csA"), GP64())
	bs := Load(Param("rsB"), GP64())
	bp := GP64()
	MOVQ(bpanel, bp)
	k := Load(Param("kb"), GP64())

	step := func() {
		bv := make([]VecVirtual, t.nv)
		for v := range bv {
			bv[v] = t.vec()
			VMOVUPS(Mem{Base: bp, Disp: v * t.vbytes()}, bv[v])
		}
		for i := 0; i < t.mr; i++ {
			addr := rowAddr(bases, rs, rs3, i)
			if t.bcast {
				for v := range bv {
					VFMADD231PS_BCST(addr, bv[v], acc[i][v])
				}
				continue
			}
			av := t.vec()
			VBROADCASTSS(addr, av)
			for v := range bv {
				VFMADD231PS(bv[v], av, acc[i][v])
			}
		}
		for _, b := range bases {
			ADDQ(cs, b)
		}
		ADDQ(bs, bp)
	}

	// Main loop, unrolled by 4, then the remainder one step at a time.
	const unroll = 4
	k4 := GP64()
	MOVQ(k, k4)
	SHRQ(U8(2), k4)
	JZ(LabelRef(t.name + "_tail"))
	Label(t.name + "_loop4")
	for u := 0; u < unroll; u++ {
		step()
	}
	DECQ(k4)
	JNZ(LabelRef(t.name + "_loop4"))
	Label(t.name + "_tail")
	ANDQ(U8(unroll-1), k)
	JZ(LabelRef(t.name + "_store"))
	Label(t.name + "_loop1")
	step()
	DECQ(k)
	JNZ(LabelRef(t.name + "_loop1"))

	// Store: C = alpha*acc (+ beta*C).
	Label(t.name + "_store")
	alpha := t.vec()
	alphaAddr, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(alphaAddr.Addr, alpha)
	ldc := Load(Param("ldc"), GP64())
	var ldc3 Register = GP64()
	LEAQ(Mem{Base: ldc, Index: ldc, Scale: 2}, ldc3)
	cb := []Register{cpanel}
	for len(cb)*4 < t.mr {
		var nb Register = GP64()
		LEAQ(Mem{Base: cb[len(cb)-1], Index: ldc, Scale: 4}, nb)
		cb = append(cb, nb)
	}
	for i := range acc {
		for v := range acc[i] {
			VMULPS(alpha, acc[i][v], acc[i][v])
		}
	}
	accum := Load(Param("accum"), GP64())
	TESTQ(accum, accum)
	JZ(LabelRef(t.name + "_overwrite"))
	beta := t.vec()
	betaAddr, err := Param("beta").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(betaAddr.Addr, beta)
	for i := range acc {
		for v := range acc[i] {
			m := rowAddr(cb, ldc, ldc3, i).Offset(v * t.vbytes())
			VFMADD231PS(m, beta, acc[i][v])
		}
	}
	Label(t.name + "_overwrite")
	for i := range acc {
		for v := range acc[i] {
			m := rowAddr(cb, ldc, ldc3, i).Offset(v * t.vbytes())
			VMOVUPS(acc[i][v], m)
		}
	}

	ps := Load(Param("psB"), GP64())
	ADDQ(ps, bpanel)
	ADDQ(U32(4*nr), cpanel)
	DECQ(np)
	JNZ(LabelRef(t.name + "_panel"))
	VZEROUPPER()
	RET()
}

// transpose8 emits packTrans8x8, which transposes n8 consecutive 8×8 blocks:
// it reads 8 rows (lds bytes apart) of 8*n8 floats and writes 8*n8 rows
// (ldd bytes apart) of 8 floats. It packs transposed B (and A) panels.
func transpose8() {
	TEXT("packTrans8x8", NOSPLIT, "func(n8 int, src *float32, lds int, dst *float32, ldd int)")
	Pragma("noescape")
	Doc("packTrans8x8 transposes n8 8x8 blocks: dst[(8q+p)*ldd + r] = src[r*lds + 8q+p] (strides in bytes).")
	n := Load(Param("n8"), GP64())
	lds := Load(Param("lds"), GP64())
	ldd := Load(Param("ldd"), GP64())
	var lds3, ldd3 Register = GP64(), GP64()
	LEAQ(Mem{Base: lds, Index: lds, Scale: 2}, lds3)
	LEAQ(Mem{Base: ldd, Index: ldd, Scale: 2}, ldd3)
	src := []Register{Load(Param("src"), GP64()), GP64()}
	dst := []Register{Load(Param("dst"), GP64()), GP64()}
	LEAQ(Mem{Base: src[0], Index: lds, Scale: 4}, src[1])
	Label("trans_loop")
	r := make([]VecVirtual, 8)
	for i := range r {
		r[i] = YMM()
		VMOVUPS(rowAddr(src, lds, lds3, i), r[i])
	}
	t := make([]VecVirtual, 8)
	for i := 0; i < 8; i += 2 {
		t[i], t[i+1] = YMM(), YMM()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	s := make([]VecVirtual, 8)
	for h := 0; h < 8; h += 4 {
		for q := 0; q < 2; q++ {
			s[h+2*q], s[h+2*q+1] = YMM(), YMM()
			VSHUFPS(U8(0x44), t[h+2+q], t[h+q], s[h+2*q])
			VSHUFPS(U8(0xEE), t[h+2+q], t[h+q], s[h+2*q+1])
		}
	}
	LEAQ(Mem{Base: dst[0], Index: ldd, Scale: 4}, dst[1])
	for q := 0; q < 4; q++ {
		lo, hi := YMM(), YMM()
		VPERM2F128(U8(0x20), s[4+q], s[q], lo)
		VPERM2F128(U8(0x31), s[4+q], s[q], hi)
		VMOVUPS(lo, rowAddr(dst, ldd, ldd3, q))
		VMOVUPS(hi, rowAddr(dst, ldd, ldd3, q+4))
	}
	ADDQ(U8(32), src[0])
	ADDQ(U8(32), src[1])
	LEAQ(Mem{Base: dst[1], Index: ldd, Scale: 4}, dst[0])
	DECQ(n)
	JNZ(LabelRef("trans_loop"))
	VZEROUPPER()
	RET()
}

// dot emits dotAVX2: 32 partial sums (element i goes to lane i mod 32, by
// fused multiply-add), reduced pairwise (lane i with lane i+16, then i+8,
// i+4, i+2, i+1), then the n mod 32 tail elements fused in one by one.
func dot() {
	TEXT("dotAVX2", NOSPLIT, "func(x, y []float32) float32")
	Pragma("noescape")
	Doc("dotAVX2 returns the dot product of x and y[:len(x)].")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	y := Mem{Base: Load(Param("y").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	acc := make([]VecVirtual, 4)
	for i := range acc {
		acc[i] = YMM()
		VXORPS(acc[i], acc[i], acc[i])
	}
	Label("dot_loop")
	CMPQ(n, U8(32))
	JL(LabelRef("dot_reduce"))
	for i := range acc {
		v := YMM()
		VMOVUPS(x.Offset(32*i), v)
		VFMADD231PS(y.Offset(32*i), v, acc[i])
	}
	ADDQ(U8(128), x.Base)
	ADDQ(U8(128), y.Base)
	SUBQ(U8(32), n)
	JMP(LabelRef("dot_loop"))

	Label("dot_reduce")
	VADDPS(acc[2], acc[0], acc[0])
	VADDPS(acc[3], acc[1], acc[1])
	VADDPS(acc[1], acc[0], acc[0])
	r := acc[0].AsX()
	hi := XMM()
	VEXTRACTF128(U8(1), acc[0], hi)
	VADDPS(hi, r, r)
	VMOVHLPS(r, r, hi)
	VADDPS(hi, r, r)
	VMOVSHDUP(r, hi)
	VADDSS(hi, r, r)

	Label("dot_tail")
	TESTQ(n, n)
	JZ(LabelRef("dot_done"))
	t := XMM()
	VMOVSS(x, t)
	VFMADD231SS(y, t, r)
	ADDQ(U8(4), x.Base)
	ADDQ(U8(4), y.Base)
	DECQ(n)
	JMP(LabelRef("dot_tail"))

	Label("dot_done")
	VZEROUPPER()
	Store(r, ReturnIndex(0))
	RET()
}

// axpy emits axpyAVX2: y[i] = fma(alpha, x[i], y[i]).
func axpy() {
	TEXT("axpyAVX2", NOSPLIT, "func(alpha float32, x, y []float32)")
	Pragma("noescape")
	Doc("axpyAVX2 sets y[i] += alpha*x[i] (fused) for i < len(x).")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	y := Mem{Base: Load(Param("y").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	al := YMM()
	addr, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(addr.Addr, al)
	Label("axpy_loop")
	CMPQ(n, U8(32))
	JL(LabelRef("axpy_tail"))
	for i := 0; i < 4; i++ {
		v := YMM()
		VMOVUPS(y.Offset(32*i), v)
		VFMADD231PS(x.Offset(32*i), al, v)
		VMOVUPS(v, y.Offset(32*i))
	}
	ADDQ(U8(128), x.Base)
	ADDQ(U8(128), y.Base)
	SUBQ(U8(32), n)
	JMP(LabelRef("axpy_loop"))
	Label("axpy_tail")
	TESTQ(n, n)
	JZ(LabelRef("axpy_done"))
	t := XMM()
	VMOVSS(y, t)
	VFMADD231SS(x, al.AsX(), t)
	VMOVSS(t, y)
	ADDQ(U8(4), x.Base)
	ADDQ(U8(4), y.Base)
	DECQ(n)
	JMP(LabelRef("axpy_tail"))
	Label("axpy_done")
	VZEROUPPER()
	RET()
}

// scal emits scalAVX2: x[i] *= alpha.
func scal() {
	TEXT("scalAVX2", NOSPLIT, "func(alpha float32, x []float32)")
	Pragma("noescape")
	Doc("scalAVX2 sets x[i] *= alpha.")
	x := Mem{Base: Load(Param("x").Base(), GP64())}
	n := Load(Param("x").Len(), GP64())
	al := YMM()
	addr, err := Param("alpha").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSS(addr.Addr, al)
	Label("scal_loop")
	CMPQ(n, U8(32))
	JL(LabelRef("scal_tail"))
	for i := 0; i < 4; i++ {
		v := YMM()
		VMULPS(x.Offset(32*i), al, v)
		VMOVUPS(v, x.Offset(32*i))
	}
	ADDQ(U8(128), x.Base)
	SUBQ(U8(32), n)
	JMP(LabelRef("scal_loop"))
	Label("scal_tail")
	TESTQ(n, n)
	JZ(LabelRef("scal_done"))
	t := XMM()
	VMULSS(x, al.AsX(), t)
	VMOVSS(t, x)
	ADDQ(U8(4), x.Base)
	DECQ(n)
	JMP(LabelRef("scal_tail"))
	Label("scal_done")
	VZEROUPPER()
	RET()
}
