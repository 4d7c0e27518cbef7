package model

import (
	"fmt"
	"math"
)

// BradleyTerry returns the Bradley–Terry preference loss averaged over the
// P pairs, mean of −log σ(chosen[i] − rejected[i]), and writes its
// gradient with respect to each reward into dChosen and dRejected (all
// four slices have length P, else it returns an error). It is computed in
// float64 without overflow.
func BradleyTerry(chosen, rejected, dChosen, dRejected []float32) (float32, error) {
	n := len(chosen)
	if len(rejected) != n || len(dChosen) != n || len(dRejected) != n {
		return 0, fmt.Errorf("model: BradleyTerry: slices of lengths %d, %d, %d, %d (want equal)", n, len(rejected), len(dChosen), len(dRejected))
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
	return float32(loss / float64(n)), nil
}
