package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/experiment"
)

func init() { rootCmd.AddCommand(newExperimentCmd()) }

func newExperimentCmd() *cobra.Command {
	o := experiment.RunOptions{Seed: 1, M: 6, CorruptRate: 0.25, Scale: 1}
	var task, shared string
	var fed experiment.FederatedOptions
	var crossData string
	var (
		trainPairs, memberSteps int
		longerBetter            float64
	)
	cmd := &cobra.Command{
		Use:   "experiment [--task synthetic | --task ethics --data DIR] [-o DIR]",
		Short: "Run the whole WARM protocol and write its report",
		Long: `Run the whole WARM protocol: data, base, SFT with Baklava snapshots, a sweep
of M diverse reward models with a shared linear-probed head and corrupted
labels, then the evaluation (members, WA(M), ENS(M), memorisation, OOD, cost,
LMC) and the report in DIR/report. Stages whose outputs exist are reused, so
an interrupted experiment continues where it stopped.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Command = "warm " + strings.Join(os.Args[1:], " ")
			var t *experiment.Task
			var err error
			switch task {
			case "synthetic":
				scfg := synth.DefaultConfig()
				scfg.LongerBetter = longerBetter
				if trainPairs > 0 {
					scfg.TrainPairs = trainPairs
				}
				t, err = experiment.Synthetic(cmd.Context(), o.Dir, o.Seed, &scfg)
			case "ethics":
				if shared == "" {
					return errors.New("experiment: --task ethics needs --data, the shared data directory (holding ethics-util/, corpus/, hh-rlhf/)")
				}
				t, err = experiment.ETHICS(cmd.Context(), o.Dir, shared)
			default:
				return fmt.Errorf("experiment: unknown task %q (synthetic or ethics)", task)
			}
			if err != nil {
				return err
			}
			if memberSteps > 0 {
				t.Member.Steps = memberSteps
			}
			p := newProgress()
			if o.Workers <= 1 {
				o.Progress = p.update
			}
			o.Log = p.logger()
			res, err := experiment.Run(cmd.Context(), t, o)
			if err == nil && crossData != "" {
				name, file, ok := strings.Cut(crossData, "=")
				if !ok {
					return fmt.Errorf("experiment: --cross-data %q: want NAME=FILE", crossData)
				}
				var cres *experiment.Results
				if cres, err = experiment.CrossData(cmd.Context(), t, o, name, file); err == nil {
					defer printObservations("cross-data "+name, cres)
				}
			}
			if err == nil && fed.K > 0 {
				var fres *experiment.Results
				if fres, err = experiment.Federated(cmd.Context(), t, o, fed); err == nil {
					defer printObservations("federated", fres)
				}
			}
			p.finish()
			if err != nil {
				return err
			}
			printObservations("main sweep", res)
			fmt.Printf("report: %s\n", filepath.Join(o.Dir, "report", "report.md"))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&task, "task", "synthetic", "the task: synthetic or ethics")
	fs.IntVar(&trainPairs, "train-pairs", 0, "synthetic: training pairs (default 20000)")
	fs.Float64Var(&longerBetter, "longer-better", 0, "synthetic: how often the longer response is better in train and ID test (0.5: no length shortcut; 0: the natural ~0.76)")
	fs.IntVar(&memberSteps, "member-steps", 0, "steps of each member at scale 1 (default: the task's)")
	fs.StringVar(&shared, "data", "", "shared data directory for --task ethics (e.g. ../shared/data)")
	fs.StringVarP(&o.Dir, "out", "o", "warm-experiment", "output directory (reused stages are kept)")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the task, base, sweep and evaluation")
	fs.Uint64Var(&o.SweepSeed, "sweep-seed", 0, "seed of the sweep alone (default --seed); others reuse the base and SFT and write sweep-sN, report-sN")
	fs.IntVar(&o.M, "members", o.M, "sweep members M")
	fs.Float64Var(&o.CorruptRate, "corrupt", o.CorruptRate, "fraction of training labels flipped")
	fs.Float64Var(&o.Scale, "scale", o.Scale, "multiply every step count")
	fs.IntVar(&o.Workers, "workers", 1, "members trained at once")
	fs.IntVar(&o.Eval.MaxPairs, "max-pairs", 2000, "pairs per evaluation set")
	fs.BoolVar(&o.Reevaluate, "reevaluate", false, "redo evaluations whose report exists (they are reused otherwise)")
	fs.IntVar(&o.Eval.LMCPairs, "lmc-pairs", 1000, "pairs per LMC set")
	fs.BoolVar(&o.Eval.GreedySoup, "greedy-soup", true, "also evaluate the greedy soup")
	fs.IntVar(&fed.K, "federated", 0, "also run the federated extension with K disjoint shards (0: off)")
	fs.BoolVar(&fed.NonIID, "non-iid", false, "federated shards by response length instead of at random")
	fs.StringVar(&crossData, "cross-data", "", "also merge a member trained on another preference file NAME=FILE (half train, half test) with one trained on the task")
	return cmd
}

func printObservations(title string, res *experiment.Results) {
	fmt.Printf("%s:\n", title)
	for _, ob := range experiment.Observe(res) {
		fmt.Printf("%-7s %-20s %s\n        %s\n", ob.ID, ob.Verdict, ob.Claim, ob.Evidence)
	}
}
