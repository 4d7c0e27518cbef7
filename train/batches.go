package train

import "github.com/warm-rm/warm/data"

// order yields the batch of each step: epochs of data.Batches over n items
// with full batches only, so that step s always gets the same indices.
type order struct {
	n, size int
	seed    uint64
	perEp   int
	epoch   int
	cache   [][]int
}

func newOrder(n, size int, seed uint64) *order {
	size = min(size, n)
	return &order{n: n, size: size, seed: seed, perEp: max(n/size, 1), epoch: -1}
}

// batch returns the item indices of step (0-based).
func (o *order) batch(step int) ([]int, error) {
	e := step / o.perEp
	if e != o.epoch {
		bs, err := data.Batches(o.n, o.size, o.seed, e)
		if err != nil {
			return nil, err
		}
		o.cache, o.epoch = bs, e
	}
	return o.cache[step%o.perEp], nil
}
