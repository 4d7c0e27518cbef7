//go:build amd64 && !purego

#include "textflag.h"

// func widenBF16AVX2(dst *float32, src *uint16, n int)
// dst[i] = float32 with the bits src[i] << 16, for i < n (a multiple of 8,
// at least 8). Written by hand (the GEMM kernels are generated with avo).
TEXT ·widenBF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loop:
	VPMOVZXWD (SI), Y0
	VPSLLD    $16, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       loop
	VZEROUPPER
	RET
