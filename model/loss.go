package model

import "math"

// BradleyTerry returns the Bradley–Terry preference loss averaged over the
// P pairs, mean of −log σ(chosen[i] − rejected[i]), and writes its
// gradient with respect to each reward into dChosen and dRejected (all
// four slices have length P). It is computed in float64 without overflow.
func BradleyTerry(chosen, rejected, dChosen, dRejected []float32) float32 {
	n := len(chosen)
	if len(rejected) != n || len(dChosen) != n || len(dRejected) != n {
		panic("model: BradleyTerry: slices of different lengths")
	}
	var loss float64
	for i := range n {
		d := float64(chosen[i]) - float64(rejected[i])
		// −log σ(d) = softplus(−d); its derivative in d is −σ(−d).
		var sp, sneg float64
		if d > 0 {
			e := math.Exp(-d)
			sp, sneg = math.Log1p(e), e/(1+e)
		} else {
			e := math.Exp(d)
			sp, sneg = -d+math.Log1p(e), 1/(1+e)
		}
		loss += sp
		g := float32(-sneg / float64(n))
		dChosen[i], dRejected[i] = g, -g
	}
	return float32(loss / float64(n))
}
