package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
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
	manPath := filepath.Join(dir, "manifest.json")
	var man *sweep.Manifest
	if exists(manPath) {
		if man, err = sweep.Load(manPath); err != nil {
			return nil, err
		}
	} else {
		pairs, _, err := data.LoadPairs(task.Train, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		shards, err := Shards(pairs, fo.K, o.Seed, fo.NonIID)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		trainRel, err := relTo(dir, task.Train)
		if err != nil {
			return nil, err
		}
		var evals []sweep.EvalSet
		for _, e := range task.Eval {
			p, err := relTo(dir, e.Path)
			if err != nil {
				return nil, err
			}
			evals = append(evals, sweep.EvalSet{Name: e.Name, Path: p})
		}
		mc := o.scaled(task.Member)
		lr := task.LRs[len(task.LRs)/2]
		man = &sweep.Manifest{
			Version: sweep.Version, Out: "members", Base: "../base", Head: "../sweep/head", HeadInit: inits[len(inits)-1],
			Train: trainRel, CorruptRate: o.CorruptRate, CorruptSeed: o.Seed, MaxLen: task.MaxLen,
			Probe: train.DefaultProbe(), Config: mc, Eval: evals,
		}
		for s, sh := range shards {
			name := fmt.Sprintf("shard-%d.jsonl", s)
			if err := data.WriteTRL(filepath.Join(dir, name), sh); err != nil {
				return nil, err
			}
			man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("shard-%02d", s), Init: inits[len(inits)-1], LR: lr,
				DataSeed: o.Seed, Seed: o.Seed, Role: "shard", Train: name})
		}
		man.Members = append(man.Members, sweep.Member{Name: "all-data", Init: inits[len(inits)-1], LR: lr,
			DataSeed: o.Seed, Seed: o.Seed, Role: sweep.RoleBaseline})
		if err := man.Save(manPath); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	if _, err := sweep.Run(ctx, man, sweep.RunOptions{Workers: o.Workers, Resume: true, StateEvery: 200, Progress: o.Progress, Log: o.Log}); err != nil {
		return nil, err
	}
	stage["sweep"] = time.Since(t0)
	t0 = time.Now()
	sets, err := LoadSets(man, o.Eval.MaxPairs, o.Seed)
	if err != nil {
		return nil, err
	}
	eo := o.Eval
	eo.Seed, eo.Ms, eo.GreedySoup = o.Seed, []int{fo.K}, false
	if eo.Log == nil {
		eo.Log = o.logf
	}
	res, err := Evaluate(ctx, man, sets, eo)
	if err != nil {
		return nil, err
	}
	stage["evaluation"] = time.Since(t0)
	res.Manifest = manPath
	shardKind := "at random (IID)"
	if fo.NonIID {
		shardKind = "by response length (non-IID: each party holds one length range)"
	}
	info := ReportInfo{
		Title:   fmt.Sprintf("Federated WARM on %s: %d shards %s", task.Title, fo.K, shardKind),
		Command: o.Command, Machine: fmt.Sprintf("%d CPU threads, %s/%s", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH),
		Notes: []string{
			fmt.Sprintf("The training pairs are split %s into %d disjoint shards; member shard-k is fine-tuned on shard k only, all from the same SFT init and shared head with the same hyper-parameters, for the same number of steps as all-data, a baseline trained on every pair. WA(%d) averages the shard members' weights (no data or gradient ever crosses shards); ENS(%d) averages their rewards.", shardKind, fo.K, fo.K, fo.K),
			fmt.Sprintf("Stage wall times: sweep %s, evaluation %s; total %s.", stage["sweep"].Round(time.Second), stage["evaluation"].Round(time.Second), time.Since(start).Round(time.Second)),
		},
	}
	if len(res.Entries) == 0 {
		return nil, errors.New("federated: nothing evaluated")
	}
	if err := WriteReport(filepath.Join(dir, "report"), info, res, true); err != nil {
		return nil, err
	}
	return res, nil
}
