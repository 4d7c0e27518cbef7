package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
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
	manPath := filepath.Join(dir, "manifest.json")
	var man *sweep.Manifest
	if exists(manPath) {
		if man, err = sweep.Load(manPath); err != nil {
			return nil, err
		}
	} else {
		other, _, err := data.LoadPairs(otherFile, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		otherTrain, _, otherTest, err := data.Split(other, 0, 0.5, o.Seed)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		for f, pairs := range map[string][]data.Pair{name + "_train.jsonl": otherTrain, name + "_test.jsonl": otherTest} {
			if err := data.WriteTRL(filepath.Join(dir, f), pairs); err != nil {
				return nil, err
			}
		}
		trainRel, err := relTo(dir, task.Train)
		if err != nil {
			return nil, err
		}
		evals := []sweep.EvalSet{{Name: name + "_test", Path: name + "_test.jsonl"}}
		for _, e := range task.Eval {
			if e.Name == "test" {
				p, err := relTo(dir, e.Path)
				if err != nil {
					return nil, err
				}
				evals = append([]sweep.EvalSet{{Name: "test", Path: p}}, evals...)
			}
		}
		mc := o.scaled(task.Member)
		lr := task.LRs[len(task.LRs)/2]
		init := inits[len(inits)-1]
		man = &sweep.Manifest{
			Version: sweep.Version, Out: "members", Base: "../base", Head: "../sweep/head", HeadInit: init,
			Train: trainRel, MaxLen: task.MaxLen, Probe: train.DefaultProbe(), Config: mc, Eval: evals,
			Members: []sweep.Member{
				{Name: "task", Init: init, LR: lr, DataSeed: o.Seed, Seed: o.Seed, Role: RoleDataset},
				{Name: name, Init: init, LR: lr, DataSeed: o.Seed, Seed: o.Seed, Role: RoleDataset, Train: name + "_train.jsonl"},
			},
		}
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
	eo.Seed, eo.Ms, eo.GreedySoup, eo.RankSet = o.Seed, []int{2}, false, "test"
	eo.LMCSets = []string{"test", name + "_test"}
	if eo.Log == nil {
		eo.Log = o.logf
	}
	res, err := Evaluate(ctx, man, sets, eo)
	if err != nil {
		return nil, err
	}
	stage["evaluation"] = time.Since(t0)
	res.Manifest = manPath
	info := ReportInfo{
		Title:   fmt.Sprintf("Merging reward models trained on different datasets: %s and %s", task.Title, name),
		Command: o.Command, Machine: fmt.Sprintf("%d CPU threads, %s/%s", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH),
		Notes: []string{
			fmt.Sprintf("Member 'task' is trained on the %s training pairs, member '%s' on half of %s (the other half is the %s_test set), from the same SFT init and shared head with the same hyper-parameters. WA(2) averages their weights; the LMC curve interpolates from 'task' (λ=0) to '%s' (λ=1).", task.Title, name, filepath.Base(otherFile), name, name),
			fmt.Sprintf("Stage wall times: sweep %s, evaluation %s; total %s.", stage["sweep"].Round(time.Second), stage["evaluation"].Round(time.Second), time.Since(start).Round(time.Second)),
		},
	}
	if err := WriteReport(filepath.Join(dir, "report"), info, res, true); err != nil {
		return nil, err
	}
	return res, nil
}
