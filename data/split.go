package data

import (
	"fmt"
	"hash/fnv"
	"math"
)

// PairKey returns a 64-bit content hash of a pair: FNV-1a over the prompt and
// the two responses in their original (uncorrupted) order. Corrupting a pair
// does not change its key; identical pairs share it.
func PairKey(p Pair) uint64 {
	c, r := p.Original()
	h := fnv.New64a()
	h.Write([]byte(p.Prompt))
	h.Write([]byte{0xff})
	h.Write([]byte(c))
	h.Write([]byte{0xff})
	h.Write([]byte(r))
	return h.Sum64()
}

// splitmix64 is the SplitMix64 finaliser, a cheap bijective bit mixer.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unitHash maps (key, seed) to a uniform number in [0, 1).
func unitHash(key, seed uint64) float64 {
	return float64(splitmix64(key^splitmix64(seed))>>11) / (1 << 53)
}

// Split divides pairs into train, dev and test parts. devFrac and testFrac
// are the expected fractions of dev and test pairs; the rest is train.
//
// The split is stable: a pair's part depends only on seed and its content
// ([PairKey]), never on its position in the file, on the other pairs, or on
// label corruption. Adding records to a file therefore never moves existing
// ones between parts, and duplicate pairs always land in the same part (no
// train/test leak through duplicates). The price is that part sizes are
// binomial around the requested fractions rather than exact. Each part keeps
// the input order.
func Split(pairs []Pair, devFrac, testFrac float64, seed uint64) (train, dev, test []Pair, err error) {
	if math.IsNaN(devFrac) || math.IsNaN(testFrac) || devFrac < 0 || testFrac < 0 || devFrac+testFrac > 1 {
		return nil, nil, nil, fmt.Errorf("split: fractions dev=%v test=%v must be non-negative with sum at most 1", devFrac, testFrac)
	}
	for _, p := range pairs {
		u := unitHash(PairKey(p), seed)
		switch {
		case u < testFrac:
			test = append(test, p)
		case u < testFrac+devFrac:
			dev = append(dev, p)
		default:
			train = append(train, p)
		}
	}
	return train, dev, test, nil
}
