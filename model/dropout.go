package model

// Dropout sites: each draws its mask from its own keyed stream.
const (
	siteEmbd      = 1 // after the embeddings (embd_pdrop)
	siteAttnProbs = 2 // on the attention probabilities (attn_pdrop)
	siteAttnResid = 3 // after attn.c_proj (resid_pdrop)
	siteMLPResid  = 4 // after mlp.c_proj (resid_pdrop)
)

// mix64 is splitmix64's finaliser, a bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// dropout describes one dropout site for one pass: the mask of a row is a
// pure function of (seed, layer, site, row), so it can be regenerated in
// the backward pass and does not depend on how rows are scheduled.
type dropout struct {
	active bool
	thresh uint32  // drop when the 32-bit draw is below thresh
	scale  float32 // 1/(1-p) for kept elements
	key    uint64  // (seed, layer, site) folded
}

func newDropout(p float32, train bool, seed uint64, layer, site int) dropout {
	if !train || p <= 0 {
		return dropout{}
	}
	k := mix64(seed ^ 0x5851f42d4c957f2d)
	k = mix64(k ^ uint64(layer+1)<<8 ^ uint64(site))
	return dropout{
		active: true,
		thresh: uint32(float64(p) * (1 << 32)),
		scale:  float32(1 / (1 - float64(p))),
		key:    k,
	}
}

// rowKey returns the stream key of a row identified by (a, b): (sequence,
// position) for the residual sites, (sequence, head<<32|position) for the
// attention probabilities.
func (d dropout) rowKey(a, b int) uint64 {
	return mix64(mix64(d.key^uint64(a)) ^ uint64(b))
}

// apply multiplies x in place by the row's mask times 1/(1-p): the forward
// pass of dropout, and also its backward pass (the same mask applied to the
// gradient). Element j keeps when the j-th 32-bit draw of the row's
// splitmix64 stream (two draws per 64-bit output) is at least thresh; the
// keep factor is computed without branches (the draws are unpredictable).
func (d dropout) apply(x []float32, rowKey uint64) {
	s := rowKey
	th := uint64(d.thresh)
	i := 0
	for ; i+1 < len(x); i += 2 {
		s += 0x9e3779b97f4a7c15
		z := mix64(s)
		k0 := 1 - (uint64(uint32(z))-th)>>63 // 1 when the draw >= thresh
		k1 := 1 - ((z>>32)-th)>>63
		x[i] *= d.scale * float32(k0)
		x[i+1] *= d.scale * float32(k1)
	}
	if i < len(x) {
		s += 0x9e3779b97f4a7c15
		k := 1 - (uint64(uint32(mix64(s)))-th)>>63
		x[i] *= d.scale * float32(k)
	}
}
