package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

// study is one sweep of the protocol (the main sweep, a federated one, a
// cross-dataset one): its manifest, made once by plan, then its members
// trained, evaluated and reported.
type study struct {
	// dir holds manifest.json, the members and (unless reportDir is set)
	// report/.
	dir, reportDir string
	// plan fills the members (and any study-specific field) of a new
	// manifest whose common fields are set; it may write files into dir.
	plan func(man *sweep.Manifest) error
	// evalOpts adjusts the evaluation options.
	evalOpts func(eo *EvalOptions)
	title    string
	notes    []string
}

// newManifest returns the fields every study shares: the members' training
// data, evaluation sets (as paths relative to dir), base, shared head, SFT
// init, probe and optimisation settings.
func (o *RunOptions) newManifest(task *Task, dir string, inits []string) (*sweep.Manifest, error) {
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
	return &sweep.Manifest{
		Version: sweep.Version, Out: "members", Base: "../base", Head: "head", HeadInit: inits[len(inits)-1],
		Train: trainRel, CorruptRate: o.CorruptRate, CorruptSeed: o.Seed, MaxLen: task.MaxLen,
		Probe: train.DefaultProbe(), Config: o.scaled(task.Member), Eval: evals,
	}, nil
}

// run makes (or reuses) the study's manifest, trains its members, evaluates
// them and writes the report. stage collects wall times; start is when the
// whole invocation began.
func (o *RunOptions) run(ctx context.Context, task *Task, inits []string, st study, stage map[string]time.Duration, start time.Time) (*Results, error) {
	manPath := filepath.Join(st.dir, "manifest.json")
	var man *sweep.Manifest
	var err error
	if exists(manPath) {
		if man, err = sweep.Load(manPath); err != nil {
			return nil, err
		}
	} else {
		if err := os.MkdirAll(st.dir, 0o755); err != nil {
			return nil, err
		}
		if man, err = o.newManifest(task, st.dir, inits); err != nil {
			return nil, err
		}
		if err := st.plan(man); err != nil {
			return nil, err
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
	reportDir := st.reportDir
	if reportDir == "" {
		reportDir = filepath.Join(st.dir, "report")
	}
	if !o.Reevaluate {
		if rep, err := ReadResults(reportDir); err == nil {
			pipeline.Logger(o.Log).Info("reusing the evaluation (--reevaluate to redo it)", "sweep", st.dir, "report", reportDir)
			return rep.Results, nil
		}
	}
	t0 = time.Now()
	sets, err := LoadSets(man, o.Eval.MaxPairs, o.Seed)
	if err != nil {
		return nil, err
	}
	eo := o.Eval
	eo.Seed = o.Seed // the same evaluation subsamples for every sweep
	if eo.Log == nil {
		eo.Log = o.Log
	}
	if st.evalOpts != nil {
		st.evalOpts(&eo)
	}
	res, err := Evaluate(ctx, man, sets, eo)
	if err != nil {
		return nil, err
	}
	stage["evaluation"] = time.Since(t0)
	res.Manifest = manPath
	notes := append([]string(nil), st.notes...)
	notes = append(notes, fmt.Sprintf("Stage wall times in this invocation (reused stages take ~0): pretrain %s, SFT %s, sweep %s, evaluation %s; total %s.",
		stage["pretrain"].Round(time.Second), stage["sft"].Round(time.Second), stage["sweep"].Round(time.Second), stage["evaluation"].Round(time.Second), time.Since(start).Round(time.Second)))
	info := ReportInfo{
		Title: st.title, Command: o.Command, Notes: notes,
		Machine: fmt.Sprintf("%d CPU threads, %s/%s", runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH),
	}
	if err := WriteReport(reportDir, info, res, true); err != nil {
		return nil, err
	}
	return res, nil
}
