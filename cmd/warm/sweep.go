package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

func init() { rootCmd.AddCommand(newSweepCmd()) }

func newSweepCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Plan and train the M diverse reward models of a WARM sweep",
		Long: `A sweep is a manifest (JSON) of M reward-model members fine-tuned from one
shared base with diverse learning rates, dropouts, data orders and Baklava
initialisations, all starting from one linear-probed head. 'warm sweep plan'
writes the manifest; 'warm sweep run' trains the members that are not trained
yet (all of them, or one with --member K: run members as separate jobs on any
scheduler and gather them with 'warm merge' or 'warm report').`,
	}
	cmd.AddCommand(newSweepPlanCmd(), newSweepRunCmd())
	return cmd
}

func newSweepPlanCmd() *cobra.Command {
	var (
		out      string
		m        sweep.Manifest
		po       sweep.PlanOptions
		dropouts []float64
		evals    []string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "plan -o MANIFEST --base BASE --inits A,B,C --train FILE",
		Short: "Write a sweep manifest",
		Long: `Write a sweep manifest. With --lmc (default) the first members are built for
linear mode connectivity: a reference, the same with another data order, with
another learning rate, and from another init (and the reference keeps a
snapshot halfway through its training). The others draw their learning rate,
dropout and init uniformly from the grids. Paths are relative to the manifest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || m.Base == "" || m.Train == "" || len(po.Inits) == 0 {
				return errors.New("sweep plan: -o, --base, --train and --inits are required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("sweep plan: %s exists (use --force to replace it)", out)
			}
			for _, d := range dropouts {
				po.Dropouts = append(po.Dropouts, float32(d))
			}
			for _, e := range evals {
				name, path, ok := strings.Cut(e, "=")
				if !ok {
					return fmt.Errorf("sweep plan: --eval %q: want NAME=FILE", e)
				}
				m.Eval = append(m.Eval, sweep.EvalSet{Name: name, Path: path})
			}
			m.Version = sweep.Version
			if err := sweep.Plan(&m, po); err != nil {
				return err
			}
			if err := m.Save(out); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(m.Members, "", "  ")
			fmt.Printf("wrote %s with %d members:\n%s\n", out, len(m.Members), b)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", "", "manifest file to write")
	fs.BoolVar(&force, "force", false, "replace an existing manifest")
	fs.StringVar(&m.Out, "members-dir", "members", "directory of the member checkpoints")
	fs.StringVar(&m.Base, "base", "", "shared pre-trained base")
	fs.StringVar(&m.Head, "head", "head", "shared linear-probed head (fitted by 'sweep run' if absent)")
	fs.StringVar(&m.HeadInit, "head-init", "", "checkpoint the head is probed on (default: the base)")
	fs.StringVar(&m.Train, "train", "", "preference file of the members")
	fs.Float64Var(&m.CorruptRate, "corrupt", 0, "fraction of training labels to flip (the same for every member)")
	fs.Uint64Var(&m.CorruptSeed, "corrupt-seed", 1, "seed of the flipped labels")
	fs.IntVar(&m.MaxLen, "max-len", 0, "maximum tokens per sequence (default: the model's context)")
	m.Probe = train.DefaultProbe()
	fs.IntVar(&m.Probe.Steps, "probe-steps", m.Probe.Steps, "linear-probe steps of the shared head")
	fs.IntVar(&po.M, "members", 6, "number of members M")
	fs.StringSliceVar(&po.Inits, "inits", nil, "Baklava initialisations (SFT snapshots)")
	fs.Float64SliceVar(&po.LRs, "lrs", []float64{3e-5, 1e-4, 3e-4}, "learning rates")
	fs.Float64SliceVar(&dropouts, "dropouts", []float64{0, 0.1}, "dropout probabilities")
	fs.Uint64Var(&po.Seed, "seed", 1, "seed of the hyper-parameter draws and of the members' seeds")
	fs.BoolVar(&po.LMC, "lmc", true, "include the members that linear mode connectivity needs")
	fs.StringArrayVar(&evals, "eval", nil, "evaluation set NAME=FILE (repeatable; 'ood_dev' ranks members)")
	addTrainFlags(fs, &m.Config, sweep.DefaultConfig(), false)
	return cmd
}

func newSweepRunCmd() *cobra.Command {
	var (
		members []string
		o       sweep.RunOptions
	)
	cmd := &cobra.Command{
		Use:   "run MANIFEST [--member K]",
		Short: "Train the members of a sweep that are not trained yet",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			for _, s := range members {
				k, err := strconv.Atoi(s)
				if err != nil {
					k = -1
					for i, mb := range man.Members {
						if mb.Name == s {
							k = i
						}
					}
					if k < 0 {
						return fmt.Errorf("sweep run: no member %q", s)
					}
				}
				o.Members = append(o.Members, k)
			}
			p := newProgress()
			if o.Workers <= 1 {
				o.Progress = p.update
			}
			o.Log = p.logger()
			st, err := sweep.Run(cmd.Context(), man, o)
			p.finish()
			for _, s := range st {
				if s.Name == "" {
					continue
				}
				state := "trained in " + s.Wall
				if s.Skipped {
					state = "already trained"
				}
				fmt.Printf("%s\t%s\t%s\n", s.Name, s.Dir, state)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&members, "member", nil, "train only these members (index or name; repeatable)")
	fs.IntVar(&o.Workers, "workers", 1, "members trained at once (each bit-identical to training it alone)")
	fs.BoolVar(&o.Resume, "resume", true, "resume members interrupted mid-training")
	fs.IntVar(&o.StateEvery, "save-every", 200, "steps between training-state checkpoints")
	return cmd
}
