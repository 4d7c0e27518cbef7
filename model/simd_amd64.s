//go:build amd64 && !purego

#include "textflag.h"

// Constants of geluAVX2, each replicated over the 8 lanes of a YMM register:
// s = √(2/π), sc = s·0.044715, the tanh clamp, 0.5, then the numerator (a)
// and denominator (b) coefficients of Eigen's float tanh, as in geluRowGeneric.
DATA geluConsts<>+0(SB)/4, $0x3f4c422a
DATA geluConsts<>+4(SB)/4, $0x3f4c422a
DATA geluConsts<>+8(SB)/4, $0x3f4c422a
DATA geluConsts<>+12(SB)/4, $0x3f4c422a
DATA geluConsts<>+16(SB)/4, $0x3f4c422a
DATA geluConsts<>+20(SB)/4, $0x3f4c422a
DATA geluConsts<>+24(SB)/4, $0x3f4c422a
DATA geluConsts<>+28(SB)/4, $0x3f4c422a
DATA geluConsts<>+32(SB)/4, $0x3d122279
DATA geluConsts<>+36(SB)/4, $0x3d122279
DATA geluConsts<>+40(SB)/4, $0x3d122279
DATA geluConsts<>+44(SB)/4, $0x3d122279
DATA geluConsts<>+48(SB)/4, $0x3d122279
DATA geluConsts<>+52(SB)/4, $0x3d122279
DATA geluConsts<>+56(SB)/4, $0x3d122279
DATA geluConsts<>+60(SB)/4, $0x3d122279
DATA geluConsts<>+64(SB)/4, $0x40fcf84f
DATA geluConsts<>+68(SB)/4, $0x40fcf84f
DATA geluConsts<>+72(SB)/4, $0x40fcf84f
DATA geluConsts<>+76(SB)/4, $0x40fcf84f
DATA geluConsts<>+80(SB)/4, $0x40fcf84f
DATA geluConsts<>+84(SB)/4, $0x40fcf84f
DATA geluConsts<>+88(SB)/4, $0x40fcf84f
DATA geluConsts<>+92(SB)/4, $0x40fcf84f
DATA geluConsts<>+96(SB)/4, $0xc0fcf84f
DATA geluConsts<>+100(SB)/4, $0xc0fcf84f
DATA geluConsts<>+104(SB)/4, $0xc0fcf84f
DATA geluConsts<>+108(SB)/4, $0xc0fcf84f
DATA geluConsts<>+112(SB)/4, $0xc0fcf84f
DATA geluConsts<>+116(SB)/4, $0xc0fcf84f
DATA geluConsts<>+120(SB)/4, $0xc0fcf84f
DATA geluConsts<>+124(SB)/4, $0xc0fcf84f
DATA geluConsts<>+128(SB)/4, $0x3f000000
DATA geluConsts<>+132(SB)/4, $0x3f000000
DATA geluConsts<>+136(SB)/4, $0x3f000000
DATA geluConsts<>+140(SB)/4, $0x3f000000
DATA geluConsts<>+144(SB)/4, $0x3f000000
DATA geluConsts<>+148(SB)/4, $0x3f000000
DATA geluConsts<>+152(SB)/4, $0x3f000000
DATA geluConsts<>+156(SB)/4, $0x3f000000
DATA geluConsts<>+160(SB)/4, $0x3ba059dc
DATA geluConsts<>+164(SB)/4, $0x3ba059dc
DATA geluConsts<>+168(SB)/4, $0x3ba059dc
DATA geluConsts<>+172(SB)/4, $0x3ba059dc
DATA geluConsts<>+176(SB)/4, $0x3ba059dc
DATA geluConsts<>+180(SB)/4, $0x3ba059dc
DATA geluConsts<>+184(SB)/4, $0x3ba059dc
DATA geluConsts<>+188(SB)/4, $0x3ba059dc
DATA geluConsts<>+192(SB)/4, $0x3a270ded
DATA geluConsts<>+196(SB)/4, $0x3a270ded
DATA geluConsts<>+200(SB)/4, $0x3a270ded
DATA geluConsts<>+204(SB)/4, $0x3a270ded
DATA geluConsts<>+208(SB)/4, $0x3a270ded
DATA geluConsts<>+212(SB)/4, $0x3a270ded
DATA geluConsts<>+216(SB)/4, $0x3a270ded
DATA geluConsts<>+220(SB)/4, $0x3a270ded
DATA geluConsts<>+224(SB)/4, $0x3779434a
DATA geluConsts<>+228(SB)/4, $0x3779434a
DATA geluConsts<>+232(SB)/4, $0x3779434a
DATA geluConsts<>+236(SB)/4, $0x3779434a
DATA geluConsts<>+240(SB)/4, $0x3779434a
DATA geluConsts<>+244(SB)/4, $0x3779434a
DATA geluConsts<>+248(SB)/4, $0x3779434a
DATA geluConsts<>+252(SB)/4, $0x3779434a
DATA geluConsts<>+256(SB)/4, $0x335c0041
DATA geluConsts<>+260(SB)/4, $0x335c0041
DATA geluConsts<>+264(SB)/4, $0x335c0041
DATA geluConsts<>+268(SB)/4, $0x335c0041
DATA geluConsts<>+272(SB)/4, $0x335c0041
DATA geluConsts<>+276(SB)/4, $0x335c0041
DATA geluConsts<>+280(SB)/4, $0x335c0041
DATA geluConsts<>+284(SB)/4, $0x335c0041
DATA geluConsts<>+288(SB)/4, $0xaebd37ff
DATA geluConsts<>+292(SB)/4, $0xaebd37ff
DATA geluConsts<>+296(SB)/4, $0xaebd37ff
DATA geluConsts<>+300(SB)/4, $0xaebd37ff
DATA geluConsts<>+304(SB)/4, $0xaebd37ff
DATA geluConsts<>+308(SB)/4, $0xaebd37ff
DATA geluConsts<>+312(SB)/4, $0xaebd37ff
DATA geluConsts<>+316(SB)/4, $0xaebd37ff
DATA geluConsts<>+320(SB)/4, $0x2a61337e
DATA geluConsts<>+324(SB)/4, $0x2a61337e
DATA geluConsts<>+328(SB)/4, $0x2a61337e
DATA geluConsts<>+332(SB)/4, $0x2a61337e
DATA geluConsts<>+336(SB)/4, $0x2a61337e
DATA geluConsts<>+340(SB)/4, $0x2a61337e
DATA geluConsts<>+344(SB)/4, $0x2a61337e
DATA geluConsts<>+348(SB)/4, $0x2a61337e
DATA geluConsts<>+352(SB)/4, $0xa59f25c0
DATA geluConsts<>+356(SB)/4, $0xa59f25c0
DATA geluConsts<>+360(SB)/4, $0xa59f25c0
DATA geluConsts<>+364(SB)/4, $0xa59f25c0
DATA geluConsts<>+368(SB)/4, $0xa59f25c0
DATA geluConsts<>+372(SB)/4, $0xa59f25c0
DATA geluConsts<>+376(SB)/4, $0xa59f25c0
DATA geluConsts<>+380(SB)/4, $0xa59f25c0
DATA geluConsts<>+384(SB)/4, $0x3ba059dd
DATA geluConsts<>+388(SB)/4, $0x3ba059dd
DATA geluConsts<>+392(SB)/4, $0x3ba059dd
DATA geluConsts<>+396(SB)/4, $0x3ba059dd
DATA geluConsts<>+400(SB)/4, $0x3ba059dd
DATA geluConsts<>+404(SB)/4, $0x3ba059dd
DATA geluConsts<>+408(SB)/4, $0x3ba059dd
DATA geluConsts<>+412(SB)/4, $0x3ba059dd
DATA geluConsts<>+416(SB)/4, $0x3b14aa05
DATA geluConsts<>+420(SB)/4, $0x3b14aa05
DATA geluConsts<>+424(SB)/4, $0x3b14aa05
DATA geluConsts<>+428(SB)/4, $0x3b14aa05
DATA geluConsts<>+432(SB)/4, $0x3b14aa05
DATA geluConsts<>+436(SB)/4, $0x3b14aa05
DATA geluConsts<>+440(SB)/4, $0x3b14aa05
DATA geluConsts<>+444(SB)/4, $0x3b14aa05
DATA geluConsts<>+448(SB)/4, $0x38f895d6
DATA geluConsts<>+452(SB)/4, $0x38f895d6
DATA geluConsts<>+456(SB)/4, $0x38f895d6
DATA geluConsts<>+460(SB)/4, $0x38f895d6
DATA geluConsts<>+464(SB)/4, $0x38f895d6
DATA geluConsts<>+468(SB)/4, $0x38f895d6
DATA geluConsts<>+472(SB)/4, $0x38f895d6
DATA geluConsts<>+476(SB)/4, $0x38f895d6
DATA geluConsts<>+480(SB)/4, $0x35a0d3d8
DATA geluConsts<>+484(SB)/4, $0x35a0d3d8
DATA geluConsts<>+488(SB)/4, $0x35a0d3d8
DATA geluConsts<>+492(SB)/4, $0x35a0d3d8
DATA geluConsts<>+496(SB)/4, $0x35a0d3d8
DATA geluConsts<>+500(SB)/4, $0x35a0d3d8
DATA geluConsts<>+504(SB)/4, $0x35a0d3d8
DATA geluConsts<>+508(SB)/4, $0x35a0d3d8
GLOBL geluConsts<>(SB), RODATA|NOPTR, $512

// func geluAVX2(out, th, x, bias *float32, n int)
// For i < n (a multiple of 8): v = x[i] + bias[i]; x[i] = v;
// u = clamp(v·(s + sc·v²)); th[i] = tanh(u) = u·p(u²)/q(u²);
// out[i] = 0.5·v·(1 + th[i]).
TEXT ·geluAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ th+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ bias+24(FP), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (DX), Y0
	VADDPS  (BX), Y0, Y0              // v
	VMOVUPS Y0, (DX)
	VMULPS  Y0, Y0, Y2                // v²
	VMOVUPS geluConsts<>+32(SB), Y3
	VFMADD213PS geluConsts<>+0(SB), Y2, Y3   // s + sc·v²
	VMULPS  Y3, Y0, Y3                // u
	VMINPS  geluConsts<>+64(SB), Y3, Y3
	VMAXPS  geluConsts<>+96(SB), Y3, Y3
	VMULPS  Y3, Y3, Y4                // w = u²
	VMULPS  Y4, Y4, Y5                // w²
	VMULPS  Y5, Y5, Y10               // w⁴
	VMOVUPS geluConsts<>+192(SB), Y6
	VFMADD213PS geluConsts<>+160(SB), Y4, Y6  // p01 = a1 + a3·w
	VMOVUPS geluConsts<>+256(SB), Y7
	VFMADD213PS geluConsts<>+224(SB), Y4, Y7  // p23 = a5 + a7·w
	VMOVUPS geluConsts<>+320(SB), Y8
	VFMADD213PS geluConsts<>+288(SB), Y4, Y8  // p45 = a9 + a11·w
	VMOVUPS geluConsts<>+352(SB), Y9
	VFMADD213PS Y8, Y5, Y9            // p456 = p45 + a13·w²
	VFMADD213PS Y6, Y5, Y7            // p0123 = p01 + p23·w²
	VFMADD213PS Y7, Y10, Y9           // p = p0123 + p456·w⁴
	VMOVUPS geluConsts<>+416(SB), Y11
	VFMADD213PS geluConsts<>+384(SB), Y4, Y11 // q01 = b0 + b2·w
	VMOVUPS geluConsts<>+480(SB), Y12
	VFMADD213PS geluConsts<>+448(SB), Y4, Y12 // q23 = b4 + b6·w
	VFMADD213PS Y11, Y5, Y12          // q = q01 + q23·w²
	VMULPS  Y9, Y3, Y9                // u·p
	VDIVPS  Y12, Y9, Y9               // t = u·p / q
	VMOVUPS Y9, (SI)
	VMULPS  geluConsts<>+128(SB), Y0, Y13   // 0.5·v
	VFMADD213PS Y13, Y13, Y9          // 0.5·v·t + 0.5·v
	VMOVUPS Y9, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// Constants of expShiftAVX2 (Cephes expf, as in expShiftGeneric), each
// replicated over the 8 lanes of a YMM register.
DATA expConsts<>+0(SB)/4, $0xc2ae999a
DATA expConsts<>+4(SB)/4, $0xc2ae999a
DATA expConsts<>+8(SB)/4, $0xc2ae999a
DATA expConsts<>+12(SB)/4, $0xc2ae999a
DATA expConsts<>+16(SB)/4, $0xc2ae999a
DATA expConsts<>+20(SB)/4, $0xc2ae999a
DATA expConsts<>+24(SB)/4, $0xc2ae999a
DATA expConsts<>+28(SB)/4, $0xc2ae999a
DATA expConsts<>+32(SB)/4, $0x3fb8aa3b
DATA expConsts<>+36(SB)/4, $0x3fb8aa3b
DATA expConsts<>+40(SB)/4, $0x3fb8aa3b
DATA expConsts<>+44(SB)/4, $0x3fb8aa3b
DATA expConsts<>+48(SB)/4, $0x3fb8aa3b
DATA expConsts<>+52(SB)/4, $0x3fb8aa3b
DATA expConsts<>+56(SB)/4, $0x3fb8aa3b
DATA expConsts<>+60(SB)/4, $0x3fb8aa3b
DATA expConsts<>+64(SB)/4, $0x4b400000
DATA expConsts<>+68(SB)/4, $0x4b400000
DATA expConsts<>+72(SB)/4, $0x4b400000
DATA expConsts<>+76(SB)/4, $0x4b400000
DATA expConsts<>+80(SB)/4, $0x4b400000
DATA expConsts<>+84(SB)/4, $0x4b400000
DATA expConsts<>+88(SB)/4, $0x4b400000
DATA expConsts<>+92(SB)/4, $0x4b400000
DATA expConsts<>+96(SB)/4, $0x3f318000
DATA expConsts<>+100(SB)/4, $0x3f318000
DATA expConsts<>+104(SB)/4, $0x3f318000
DATA expConsts<>+108(SB)/4, $0x3f318000
DATA expConsts<>+112(SB)/4, $0x3f318000
DATA expConsts<>+116(SB)/4, $0x3f318000
DATA expConsts<>+120(SB)/4, $0x3f318000
DATA expConsts<>+124(SB)/4, $0x3f318000
DATA expConsts<>+128(SB)/4, $0xb95e8083
DATA expConsts<>+132(SB)/4, $0xb95e8083
DATA expConsts<>+136(SB)/4, $0xb95e8083
DATA expConsts<>+140(SB)/4, $0xb95e8083
DATA expConsts<>+144(SB)/4, $0xb95e8083
DATA expConsts<>+148(SB)/4, $0xb95e8083
DATA expConsts<>+152(SB)/4, $0xb95e8083
DATA expConsts<>+156(SB)/4, $0xb95e8083
DATA expConsts<>+160(SB)/4, $0x39506967
DATA expConsts<>+164(SB)/4, $0x39506967
DATA expConsts<>+168(SB)/4, $0x39506967
DATA expConsts<>+172(SB)/4, $0x39506967
DATA expConsts<>+176(SB)/4, $0x39506967
DATA expConsts<>+180(SB)/4, $0x39506967
DATA expConsts<>+184(SB)/4, $0x39506967
DATA expConsts<>+188(SB)/4, $0x39506967
DATA expConsts<>+192(SB)/4, $0x3ab743ce
DATA expConsts<>+196(SB)/4, $0x3ab743ce
DATA expConsts<>+200(SB)/4, $0x3ab743ce
DATA expConsts<>+204(SB)/4, $0x3ab743ce
DATA expConsts<>+208(SB)/4, $0x3ab743ce
DATA expConsts<>+212(SB)/4, $0x3ab743ce
DATA expConsts<>+216(SB)/4, $0x3ab743ce
DATA expConsts<>+220(SB)/4, $0x3ab743ce
DATA expConsts<>+224(SB)/4, $0x3c088908
DATA expConsts<>+228(SB)/4, $0x3c088908
DATA expConsts<>+232(SB)/4, $0x3c088908
DATA expConsts<>+236(SB)/4, $0x3c088908
DATA expConsts<>+240(SB)/4, $0x3c088908
DATA expConsts<>+244(SB)/4, $0x3c088908
DATA expConsts<>+248(SB)/4, $0x3c088908
DATA expConsts<>+252(SB)/4, $0x3c088908
DATA expConsts<>+256(SB)/4, $0x3d2aa9c1
DATA expConsts<>+260(SB)/4, $0x3d2aa9c1
DATA expConsts<>+264(SB)/4, $0x3d2aa9c1
DATA expConsts<>+268(SB)/4, $0x3d2aa9c1
DATA expConsts<>+272(SB)/4, $0x3d2aa9c1
DATA expConsts<>+276(SB)/4, $0x3d2aa9c1
DATA expConsts<>+280(SB)/4, $0x3d2aa9c1
DATA expConsts<>+284(SB)/4, $0x3d2aa9c1
DATA expConsts<>+288(SB)/4, $0x3e2aaaaa
DATA expConsts<>+292(SB)/4, $0x3e2aaaaa
DATA expConsts<>+296(SB)/4, $0x3e2aaaaa
DATA expConsts<>+300(SB)/4, $0x3e2aaaaa
DATA expConsts<>+304(SB)/4, $0x3e2aaaaa
DATA expConsts<>+308(SB)/4, $0x3e2aaaaa
DATA expConsts<>+312(SB)/4, $0x3e2aaaaa
DATA expConsts<>+316(SB)/4, $0x3e2aaaaa
DATA expConsts<>+320(SB)/4, $0x3f000000
DATA expConsts<>+324(SB)/4, $0x3f000000
DATA expConsts<>+328(SB)/4, $0x3f000000
DATA expConsts<>+332(SB)/4, $0x3f000000
DATA expConsts<>+336(SB)/4, $0x3f000000
DATA expConsts<>+340(SB)/4, $0x3f000000
DATA expConsts<>+344(SB)/4, $0x3f000000
DATA expConsts<>+348(SB)/4, $0x3f000000
DATA expConsts<>+352(SB)/4, $0x3f800000
DATA expConsts<>+356(SB)/4, $0x3f800000
DATA expConsts<>+360(SB)/4, $0x3f800000
DATA expConsts<>+364(SB)/4, $0x3f800000
DATA expConsts<>+368(SB)/4, $0x3f800000
DATA expConsts<>+372(SB)/4, $0x3f800000
DATA expConsts<>+376(SB)/4, $0x3f800000
DATA expConsts<>+380(SB)/4, $0x3f800000
DATA expConsts<>+384(SB)/4, $0x4b400000
DATA expConsts<>+388(SB)/4, $0x4b400000
DATA expConsts<>+392(SB)/4, $0x4b400000
DATA expConsts<>+396(SB)/4, $0x4b400000
DATA expConsts<>+400(SB)/4, $0x4b400000
DATA expConsts<>+404(SB)/4, $0x4b400000
DATA expConsts<>+408(SB)/4, $0x4b400000
DATA expConsts<>+412(SB)/4, $0x4b400000
DATA expConsts<>+416(SB)/4, $0x0000007f
DATA expConsts<>+420(SB)/4, $0x0000007f
DATA expConsts<>+424(SB)/4, $0x0000007f
DATA expConsts<>+428(SB)/4, $0x0000007f
DATA expConsts<>+432(SB)/4, $0x0000007f
DATA expConsts<>+436(SB)/4, $0x0000007f
DATA expConsts<>+440(SB)/4, $0x0000007f
DATA expConsts<>+444(SB)/4, $0x0000007f
GLOBL expConsts<>(SB), RODATA|NOPTR, $448

// func expShiftAVX2(x *float32, n int, mx float32) float32
// For i < n (a multiple of 8): x[i] = exp(max(x[i]−mx, −87.3)); returns the
// sum (eight lane sums, then added pairwise).
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS mx+16(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   expdone

exploop:
	VMOVUPS (DI), Y0
	VSUBPS  Y15, Y0, Y0
	VMAXPS  expConsts<>+0(SB), Y0, Y0         // v
	VMOVUPS expConsts<>+32(SB), Y1
	VFMADD213PS expConsts<>+64(SB), Y0, Y1  // t = v·log2e + magic (rounds)
	VSUBPS  expConsts<>+64(SB), Y1, Y2      // fn = t − magic
	VPSUBD  expConsts<>+384(SB), Y1, Y1  // n = bits(t) − bits(magic)
	VFNMADD231PS expConsts<>+96(SB), Y2, Y0 // r = v − fn·ln2hi
	VFNMADD231PS expConsts<>+128(SB), Y2, Y0 // r −= fn·ln2lo
	VMULPS  Y0, Y0, Y3                   // z = r²
	VMOVUPS expConsts<>+160(SB), Y4
	VFMADD213PS expConsts<>+192(SB), Y0, Y4
	VFMADD213PS expConsts<>+224(SB), Y0, Y4
	VFMADD213PS expConsts<>+256(SB), Y0, Y4
	VFMADD213PS expConsts<>+288(SB), Y0, Y4
	VFMADD213PS expConsts<>+320(SB), Y0, Y4
	VFMADD213PS Y0, Y3, Y4               // p·z + r
	VADDPS  expConsts<>+352(SB), Y4, Y4        // + 1
	VPADDD  expConsts<>+416(SB), Y1, Y1
	VPSLLD  $23, Y1, Y1                  // 2ⁿ
	VMULPS  Y1, Y4, Y4
	VMOVUPS Y4, (DI)
	VADDPS  Y4, Y14, Y14
	ADDQ $32, DI
	DECQ CX
	JNZ  exploop

expdone:
	VEXTRACTF128 $1, Y14, X0
	VADDPS  X14, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS  X1, X0, X0
	VPSHUFD $1, X0, X1
	VADDSS  X1, X0, X0
	VMOVSS  X0, ret+24(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// Returns the largest of x[0:n] (n a positive multiple of 8; no NaNs).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $3, CX
	VMOVUPS (DI), Y0
	ADDQ $32, DI
	DECQ CX
	JZ   maxdone

maxloop:
	VMAXPS (DI), Y0, Y0
	ADDQ $32, DI
	DECQ CX
	JNZ  maxloop

maxdone:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS  X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS  X1, X0, X0
	VPSHUFD $1, X0, X1
	VMAXSS  X1, X0, X0
	VMOVSS  X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
// x[i] *= s for i < n (a multiple of 8).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y1
	SHRQ $3, CX
	JZ   scaledone

scaleloop:
	VMULPS  (DI), Y1, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ  scaleloop

scaledone:
	VZEROUPPER
	RET
