#include "textflag.h"

// AVX2 versions of the merge kernels in kernel.go. Each handles n elements,
// n a positive multiple of 16; the Go wrappers in kernel_amd64.go do the
// rest. The arithmetic is exactly the Go kernels': products rounded
// (VMULPD/VMULPS, no FMA), then added in member order; conversions round to
// nearest even as Go's do.

// func wsum64AVX2(dst *float32, srcs *[]float32, w *float64, m int, n int) bool
TEXT ·wsum64AVX2(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ srcs+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ n+32(FP), R8
	SHLQ $2, R8                // bytes of float32 data
	XORQ R9, R9                // byte offset
	VPXOR Y15, Y15, Y15        // OR of the non-finite lanes
	MOVL $0x7f800000, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14      // exponent mask
loop64:
	CMPQ R9, R8
	JGE done64
	MOVQ (SI), R10             // srcs[0].ptr
	VBROADCASTSD (DX), Y13
	VCVTPS2PD (R10)(R9*1), Y0
	VCVTPS2PD 16(R10)(R9*1), Y1
	VCVTPS2PD 32(R10)(R9*1), Y2
	VCVTPS2PD 48(R10)(R9*1), Y3
	VMULPD Y13, Y0, Y0
	VMULPD Y13, Y1, Y1
	VMULPD Y13, Y2, Y2
	VMULPD Y13, Y3, Y3
	MOVQ $1, R11
	LEAQ 24(SI), R12
	LEAQ 8(DX), R13
inner64:
	CMPQ R11, CX
	JGE store64
	MOVQ (R12), R10
	VBROADCASTSD (R13), Y13
	VCVTPS2PD (R10)(R9*1), Y4
	VCVTPS2PD 16(R10)(R9*1), Y5
	VCVTPS2PD 32(R10)(R9*1), Y6
	VCVTPS2PD 48(R10)(R9*1), Y7
	VMULPD Y13, Y4, Y4
	VMULPD Y13, Y5, Y5
	VMULPD Y13, Y6, Y6
	VMULPD Y13, Y7, Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $24, R12
	ADDQ $8, R13
	INCQ R11
	JMP inner64
store64:
	VCVTPD2PSY Y0, X0
	VCVTPD2PSY Y1, X1
	VCVTPD2PSY Y2, X2
	VCVTPD2PSY Y3, X3
	VINSERTF128 $1, X1, Y0, Y0
	VINSERTF128 $1, X3, Y2, Y2
	VMOVUPS Y0, (DI)(R9*1)
	VMOVUPS Y2, 32(DI)(R9*1)
	VPAND Y14, Y0, Y0
	VPAND Y14, Y2, Y2
	VPCMPEQD Y14, Y0, Y0
	VPCMPEQD Y14, Y2, Y2
	VPOR Y0, Y15, Y15
	VPOR Y2, Y15, Y15
	ADDQ $64, R9
	JMP loop64
done64:
	VPTEST Y15, Y15
	SETNE ret+40(FP)
	VZEROUPPER
	RET

// func wsum32AVX2(dst *float32, srcs *[]float32, w *float32, m int, n int) bool
TEXT ·wsum32AVX2(SB), NOSPLIT, $0-41
	MOVQ dst+0(FP), DI
	MOVQ srcs+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ n+32(FP), R8
	SHLQ $2, R8
	XORQ R9, R9
	VPXOR Y15, Y15, Y15
	MOVL $0x7f800000, AX
	MOVQ AX, X14
	VPBROADCASTD X14, Y14
loop32:
	CMPQ R9, R8
	JGE done32
	MOVQ (SI), R10
	VBROADCASTSS (DX), Y13
	VMULPS (R10)(R9*1), Y13, Y0
	VMULPS 32(R10)(R9*1), Y13, Y1
	MOVQ $1, R11
	LEAQ 24(SI), R12
	LEAQ 4(DX), R13
inner32:
	CMPQ R11, CX
	JGE store32
	MOVQ (R12), R10
	VBROADCASTSS (R13), Y13
	VMULPS (R10)(R9*1), Y13, Y4
	VMULPS 32(R10)(R9*1), Y13, Y5
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1
	ADDQ $24, R12
	ADDQ $4, R13
	INCQ R11
	JMP inner32
store32:
	VMOVUPS Y0, (DI)(R9*1)
	VMOVUPS Y1, 32(DI)(R9*1)
	VPAND Y14, Y0, Y0
	VPAND Y14, Y1, Y1
	VPCMPEQD Y14, Y0, Y0
	VPCMPEQD Y14, Y1, Y1
	VPOR Y0, Y15, Y15
	VPOR Y1, Y15, Y15
	ADDQ $64, R9
	JMP loop32
done32:
	VPTEST Y15, Y15
	SETNE ret+40(FP)
	VZEROUPPER
	RET

// func decodeBF16AVX2(dst *float32, src *byte, n int)
TEXT ·decodeBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loopdb:
	VPMOVZXWD (SI), Y0
	VPMOVZXWD 16(SI), Y1
	VPSLLD $16, Y0, Y0
	VPSLLD $16, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ loopdb
	VZEROUPPER
	RET

// func decodeF16F16C(dst *float32, src *byte, n int)
TEXT ·decodeF16F16C(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
loopdh:
	VCVTPH2PS (SI), Y0
	VCVTPH2PS 16(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JNZ loopdh
	VZEROUPPER
	RET

// func encodeBF16AVX2(dst *byte, src *float32, n int) bool
// Round to nearest even: (b + 0x7fff + ((b >> 16) & 1)) >> 16. Inputs must
// be finite (NaN would not stay NaN). Reports whether a result is infinite
// (the value overflowed BF16).
TEXT ·encodeBF16AVX2(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $1, AX
	MOVQ AX, X12
	VPBROADCASTD X12, Y12
	MOVL $0x7fff, AX
	MOVQ AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0x7f80, AX
	MOVQ AX, X10
	VPBROADCASTW X10, Y10
	VPXOR Y15, Y15, Y15
loopeb:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VPSRLD $16, Y0, Y2
	VPSRLD $16, Y1, Y3
	VPAND Y12, Y2, Y2
	VPAND Y12, Y3, Y3
	VPADDD Y11, Y2, Y2
	VPADDD Y11, Y3, Y3
	VPADDD Y2, Y0, Y0
	VPADDD Y3, Y1, Y1
	VPSRLD $16, Y0, Y0
	VPSRLD $16, Y1, Y1
	VPACKUSDW Y1, Y0, Y0
	VPERMQ $0xD8, Y0, Y0
	VMOVDQU Y0, (DI)
	VPAND Y10, Y0, Y0
	VPCMPEQW Y10, Y0, Y0
	VPOR Y0, Y15, Y15
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JNZ loopeb
	VPTEST Y15, Y15
	SETNE ret+24(FP)
	VZEROUPPER
	RET

// func encodeF16F16C(dst *byte, src *float32, n int) bool
// Reports whether a result is infinite (the value overflowed F16).
TEXT ·encodeF16F16C(SB), NOSPLIT, $0-25
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x7c00, AX
	MOVQ AX, X10
	VPBROADCASTW X10, X10
	VPXOR X15, X15, X15
loopeh:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VCVTPS2PH $0, Y0, X2
	VCVTPS2PH $0, Y1, X3
	VMOVDQU X2, (DI)
	VMOVDQU X3, 16(DI)
	VPAND X10, X2, X2
	VPAND X10, X3, X3
	VPCMPEQW X10, X2, X2
	VPCMPEQW X10, X3, X3
	VPOR X2, X15, X15
	VPOR X3, X15, X15
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $16, CX
	JNZ loopeh
	VPTEST X15, X15
	SETNE ret+24(FP)
	VZEROUPPER
	RET

// WSUM16 is the body of wsum64 for 16-bit sources: LOAD16 must leave 8
// float32 in Y4 (from (R10)(R9*2)) and Y5 (from 16(R10)(R9*2)).
#define WSUM16(name, LOAD16) \
TEXT name(SB), NOSPLIT, $0-41 \
	MOVQ dst+0(FP), DI \
	MOVQ srcs+8(FP), SI \
	MOVQ w+16(FP), DX \
	MOVQ m+24(FP), CX \
	MOVQ n+32(FP), R8 \
	XORQ R9, R9 \
	VPXOR Y15, Y15, Y15 \
	MOVL $0x7f800000, AX \
	MOVQ AX, X14 \
	VPBROADCASTD X14, Y14 \
loop: \
	CMPQ R9, R8 \
	JGE done \
	MOVQ (SI), R10 \
	VBROADCASTSD (DX), Y13 \
	LOAD16 \
	VEXTRACTF128 $1, Y4, X6 \
	VEXTRACTF128 $1, Y5, X7 \
	VCVTPS2PD X4, Y0 \
	VCVTPS2PD X6, Y1 \
	VCVTPS2PD X5, Y2 \
	VCVTPS2PD X7, Y3 \
	VMULPD Y13, Y0, Y0 \
	VMULPD Y13, Y1, Y1 \
	VMULPD Y13, Y2, Y2 \
	VMULPD Y13, Y3, Y3 \
	MOVQ $1, R11 \
	LEAQ 24(SI), R12 \
	LEAQ 8(DX), R13 \
inner: \
	CMPQ R11, CX \
	JGE store \
	MOVQ (R12), R10 \
	VBROADCASTSD (R13), Y13 \
	LOAD16 \
	VEXTRACTF128 $1, Y4, X6 \
	VEXTRACTF128 $1, Y5, X7 \
	VCVTPS2PD X4, Y8 \
	VCVTPS2PD X6, Y9 \
	VCVTPS2PD X5, Y10 \
	VCVTPS2PD X7, Y11 \
	VMULPD Y13, Y8, Y8 \
	VMULPD Y13, Y9, Y9 \
	VMULPD Y13, Y10, Y10 \
	VMULPD Y13, Y11, Y11 \
	VADDPD Y8, Y0, Y0 \
	VADDPD Y9, Y1, Y1 \
	VADDPD Y10, Y2, Y2 \
	VADDPD Y11, Y3, Y3 \
	ADDQ $24, R12 \
	ADDQ $8, R13 \
	INCQ R11 \
	JMP inner \
store: \
	VCVTPD2PSY Y0, X0 \
	VCVTPD2PSY Y1, X1 \
	VCVTPD2PSY Y2, X2 \
	VCVTPD2PSY Y3, X3 \
	VINSERTF128 $1, X1, Y0, Y0 \
	VINSERTF128 $1, X3, Y2, Y2 \
	VMOVUPS Y0, (DI)(R9*4) \
	VMOVUPS Y2, 32(DI)(R9*4) \
	VPAND Y14, Y0, Y0 \
	VPAND Y14, Y2, Y2 \
	VPCMPEQD Y14, Y0, Y0 \
	VPCMPEQD Y14, Y2, Y2 \
	VPOR Y0, Y15, Y15 \
	VPOR Y2, Y15, Y15 \
	ADDQ $16, R9 \
	JMP loop \
done: \
	VPTEST Y15, Y15 \
	SETNE ret+40(FP) \
	VZEROUPPER \
	RET

#define LOADBF16 \
	VPMOVZXWD (R10)(R9*2), Y4 \
	VPMOVZXWD 16(R10)(R9*2), Y5 \
	VPSLLD $16, Y4, Y4 \
	VPSLLD $16, Y5, Y5

#define LOADF16 \
	VCVTPH2PS (R10)(R9*2), Y4 \
	VCVTPH2PS 16(R10)(R9*2), Y5

// func wsum64BF16AVX2(dst *float32, srcs *[]byte, w *float64, m int, n int) bool
// wsum64 reading bfloat16 sources directly.
WSUM16(·wsum64BF16AVX2, LOADBF16)

// func wsum64F16F16C(dst *float32, srcs *[]byte, w *float64, m int, n int) bool
// wsum64 reading IEEE half sources directly.
WSUM16(·wsum64F16F16C, LOADF16)
