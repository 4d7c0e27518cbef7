package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/train"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// PlanOptions describes the diversity of a sweep.
type PlanOptions struct {
	M int
	// Inits are the Baklava initialisations (SFT snapshots, or the base).
	Inits    []string
	LRs      []float64
	Dropouts []float32
	// Seed draws the random members' hyper-parameters.
	Seed uint64
	// LMC adds the structured members that linear mode connectivity needs
	// (when M and the grids allow): "ref"; "order" (ref with another data
	// order); "lr" (ref with another learning rate); "init" (ref from
	// another init). The ref member also keeps a snapshot at half its steps
	// (two checkpoints of one run).
	LMC bool
}

// Plan fills m.Members from the diversity options: the structured LMC
// members first (if asked), then members drawn uniformly from the grids,
// every member with its own data-order and dropout seeds.
func Plan(m *Manifest, o PlanOptions) error {
	if o.M < 1 {
		return fmt.Errorf("sweep plan: M = %d", o.M)
	}
	if len(o.Inits) == 0 || len(o.LRs) == 0 || len(o.Dropouts) == 0 {
		return errors.New("sweep plan: inits, learning rates and dropouts must each have at least one value")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	m.Members = nil
	add := func(role, init string, lr float64, drop float32) {
		k := len(m.Members)
		m.Members = append(m.Members, Member{
			Name: fmt.Sprintf("member-%02d", k), Init: init, LR: lr, Dropout: drop,
			DataSeed: o.Seed*1000 + uint64(k) + 1, Seed: o.Seed*1000 + uint64(k) + 1, Role: role,
		})
	}
	if o.LMC {
		midLR := o.LRs[len(o.LRs)/2]
		ref := func() { add("ref", o.Inits[0], midLR, o.Dropouts[0]) }
		ref()
		m.Members[0].SaveAt = []int{max(m.Config.Steps/2, 1)}
		if len(m.Members) < o.M {
			add("order", o.Inits[0], midLR, o.Dropouts[0])
		}
		if len(m.Members) < o.M && len(o.LRs) > 1 {
			other := o.LRs[0]
			if other == midLR {
				other = o.LRs[len(o.LRs)-1]
			}
			add("lr", o.Inits[0], other, o.Dropouts[0])
		}
		if len(m.Members) < o.M && len(o.Inits) > 1 {
			add("init", o.Inits[len(o.Inits)-1], midLR, o.Dropouts[0])
		}
	}
	for len(m.Members) < o.M {
		add("random", o.Inits[rng.IntN(len(o.Inits))], o.LRs[rng.IntN(len(o.LRs))], o.Dropouts[rng.IntN(len(o.Dropouts))])
	}
	return nil
}

// DefaultConfig is the optimisation setting of sweep members,
// pipeline.MemberConfig.
func DefaultConfig() train.Config { return pipeline.MemberConfig() }
