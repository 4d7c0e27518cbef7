package llama

import "math"

// InvFreq returns the rotary inverse frequencies of a head, HeadDim/2 of
// them, as Hugging Face's rope initialisers compute them: θ^(−2i/d) for
// the default, divided by factor for "linear", and for "llama3"
// wavelengths above original_max_position_embeddings/low_freq_factor
// divided by factor, those below …/high_freq_factor kept, and a smooth
// interpolation between. (Hugging Face evaluates the power in float32; the
// values here are computed in float64 and rounded, within one ulp.)
func (c *Config) InvFreq() []float32 {
	d := c.HeadDim
	out := make([]float32, d/2)
	r := c.RoPE
	for i := range out {
		f := 1 / math.Pow(r.Theta, float64(2*i)/float64(d))
		switch r.Type {
		case "linear":
			f /= r.Factor
		case "llama3":
			f = llama3Scale(f, r)
		}
		out[i] = float32(f)
	}
	return out
}

// llama3Scale is rope_type "llama3" for one inverse frequency f.
func llama3Scale(f float64, r RoPE) float64 {
	old := float64(r.OriginalMaxPositions)
	lowWavelen := old / r.LowFreqFactor
	highWavelen := old / r.HighFreqFactor
	wavelen := 2 * math.Pi / f
	switch {
	case wavelen > lowWavelen:
		return f / r.Factor
	case wavelen < highWavelen:
		return f
	}
	smooth := (old/wavelen - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
	return (1-smooth)*f/r.Factor + smooth*f
}
