package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/sweep"
)

// FederatedOptions sets up the federated / "updatable" extension of WARM:
// the training pairs are split into K disjoint shards (private data held by
// K parties), one member is fine-tuned per shard from the same init with
// the same hyper-parameters, and the weight average of the shard members
// is compared with a single shard member and with one reward model trained
// on all the data for the same number of steps.
type FederatedOptions struct {
	// K is the number of shards (default 4).
	K int
	// NonIID makes the shards by response length (shard 0 the pairs with
	// the shortest responses, ...) instead of at random.
	NonIID bool
}

// Shards splits pairs into k disjoint shards: at random (a seeded
// permutation cut into k nearly equal parts), or, non-IID, by the total
// length of the two responses.
func Shards(pairs []data.Pair, k int, seed uint64, nonIID bool) ([][]data.Pair, error) {
	if k < 2 || k > len(pairs) {
		return nil, fmt.Errorf("cannot split %d pairs into %d shards", len(pairs), k)
	}
	order := data.EpochOrder(len(pairs), seed, 0)
	if nonIID {
		order = make([]int, len(pairs))
		for i := range order {
			order[i] = i
		}
		size := func(i int) int { return len(pairs[i].Chosen) + len(pairs[i].Rejected) }
		slices.SortStableFunc(order, func(a, b int) int { return size(a) - size(b) })
	}
	out := make([][]data.Pair, k)
	for s := 0; s < k; s++ {
		lo, hi := s*len(order)/k, (s+1)*len(order)/k
		for _, i := range order[lo:hi] {
			out[s] = append(out[s], pairs[i])
		}
	}
	return out, nil
}

// Federated runs the federated extension in o.Dir/federated (reusing the
// base and SFT of the main protocol, or making them) and writes its report
// to o.Dir/federated/report.
func Federated(ctx context.Context, task *Task, o RunOptions, fo FederatedOptions) (*Results, error) {
	if fo.K == 0 {
		fo.K = 4
	}
	start := time.Now()
	stage := map[string]time.Duration{}
	inits, err := prepareBase(ctx, task, &o, stage)
	if err != nil {
		return nil, err
	}
	kind := "iid"
	if fo.NonIID {
		kind = "noniid"
	}
	dir := filepath.Join(o.Dir, fmt.Sprintf("federated-%s-k%d", kind, fo.K))
	shardKind := "at random (IID)"
	if fo.NonIID {
		shardKind = "by response length (non-IID: each party holds one length range)"
	}
	return o.run(ctx, task, inits, study{
		dir: dir,
		plan: func(man *sweep.Manifest) error {
			pairs, _, err := data.LoadPairs(task.Train, data.LoadOptions{})
			if err != nil {
				return err
			}
			shards, err := Shards(pairs, fo.K, o.Seed, fo.NonIID)
			if err != nil {
				return err
			}
			man.Head = "../sweep/head"
			lr, init := task.LRs[len(task.LRs)/2], inits[len(inits)-1]
			for s, sh := range shards {
				name := fmt.Sprintf("shard-%d.jsonl", s)
				if err := data.WriteTRL(filepath.Join(dir, name), sh); err != nil {
					return err
				}
				man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("shard-%02d", s), Init: init, LR: lr,
					DataSeed: o.Seed, Seed: o.Seed, Role: "shard", Train: name})
			}
			man.Members = append(man.Members, sweep.Member{Name: "all-data", Init: init, LR: lr,
				DataSeed: o.Seed, Seed: o.Seed, Role: sweep.RoleBaseline})
			return nil
		},
		evalOpts: func(eo *EvalOptions) { eo.Ms, eo.GreedySoup = []int{fo.K}, false },
		title:    fmt.Sprintf("Federated WARM on %s: %d shards %s", task.Title, fo.K, shardKind),
		notes: []string{fmt.Sprintf("The training pairs are split %s into %d disjoint shards; member shard-k is fine-tuned on shard k only, all from the same SFT init and shared head with the same hyper-parameters, for the same number of steps as all-data, a baseline trained on every pair. WA(%d) averages the shard members' weights (no data or gradient ever crosses shards); ENS(%d) averages their rewards.",
			shardKind, fo.K, fo.K, fo.K)},
	}, stage, start)
}
