package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/sweep"
)

// RoleDataset marks the members of a cross-dataset merge.
const RoleDataset = "dataset"

// CrossData merges reward models trained on different datasets from the
// same base: one member on the task's training pairs, one on other (the
// first half of a seeded split of otherFile; the second half is its test
// set), same init, head and hyper-parameters. It reports each member, their
// weight average and prediction ensemble on both datasets' test sets, and
// the interpolation curve between them. Output in o.Dir/crossdata-NAME.
func CrossData(ctx context.Context, task *Task, o RunOptions, name, otherFile string) (*Results, error) {
	start := time.Now()
	stage := map[string]time.Duration{}
	inits, err := prepareBase(ctx, task, &o, stage)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(o.Dir, "crossdata-"+name)
	return o.run(ctx, task, inits, study{
		dir: dir,
		plan: func(man *sweep.Manifest) error {
			other, _, err := data.LoadPairs(otherFile, data.LoadOptions{})
			if err != nil {
				return err
			}
			otherTrain, _, otherTest, err := data.Split(other, 0, 0.5, o.Seed)
			if err != nil {
				return err
			}
			for f, pairs := range map[string][]data.Pair{name + "_train.jsonl": otherTrain, name + "_test.jsonl": otherTest} {
				if err := data.WriteTRL(filepath.Join(dir, f), pairs); err != nil {
					return err
				}
			}
			// Both test sets; no label corruption.
			var evals []sweep.EvalSet
			for _, e := range man.Eval {
				if e.Name == "test" {
					evals = append(evals, e)
				}
			}
			man.Eval = append(evals, sweep.EvalSet{Name: name + "_test", Path: name + "_test.jsonl"})
			man.Head, man.CorruptRate = "../sweep/head", 0
			lr, init := task.LRs[len(task.LRs)/2], inits[len(inits)-1]
			man.Members = []sweep.Member{
				{Name: "task", Init: init, LR: lr, DataSeed: o.Seed, Seed: o.Seed, Role: RoleDataset},
				{Name: name, Init: init, LR: lr, DataSeed: o.Seed, Seed: o.Seed, Role: RoleDataset, Train: name + "_train.jsonl"},
			}
			return nil
		},
		evalOpts: func(eo *EvalOptions) {
			eo.Ms, eo.GreedySoup, eo.RankSet = []int{2}, false, "test"
			eo.LMCSets = []string{"test", name + "_test"}
		},
		title: fmt.Sprintf("Merging reward models trained on different datasets: %s and %s", task.Title, name),
		notes: []string{fmt.Sprintf("Member 'task' is trained on the %s training pairs, member '%s' on half of %s (the other half is the %s_test set), from the same SFT init and shared head with the same hyper-parameters. WA(2) averages their weights; the LMC curve interpolates from 'task' (λ=0) to '%s' (λ=1).",
			task.Title, name, filepath.Base(otherFile), name, name)},
	}, stage, start)
}
