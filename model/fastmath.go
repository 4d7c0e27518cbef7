package model

import "math"

// expShiftGeneric replaces every x[j] by e^(x[j]−mx) (inputs at most mx; results
// below e^−87.3 are flushed towards that value) and returns their sum. It is
// Cephes' expf (range reduction to |r| <= ln2/2, degree-6 polynomial,
// exponent by bit manipulation; a few ulp) inlined into the loop with
// branch-free rounding. The standard library works in float64 and costs
// several times more; softmax over the vocabulary calls this V times a token.
func expShiftGeneric(x []float32, mx float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
		magic = 12582912 // 1.5·2²³: adding it rounds to an integer
	)
	var s float32
	for j, v := range x {
		v = max(v-mx, -87.3)
		t := v*log2e + magic
		n := int32(math.Float32bits(t)) - 0x4B400000
		fn := t - magic
		r := v - fn*ln2hi - fn*ln2lo
		z := r * r
		p := float32(1.9875691500e-4)
		p = p*r + 1.3981999507e-3
		p = p*r + 8.3334519073e-3
		p = p*r + 4.1665795894e-2
		p = p*r + 1.6666665459e-1
		p = p*r + 5.0000001201e-1
		p = p*z + r + 1
		e := p * math.Float32frombits(uint32(n+127)<<23)
		x[j] = e
		s += e
	}
	return s
}

// rowMaxGeneric returns the largest element of x (not empty).
func rowMaxGeneric(x []float32) float32 {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	return m
}

// scaleRowGeneric multiplies x by s in place.
func scaleRowGeneric(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}
