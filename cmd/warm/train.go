package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

func init() { rootCmd.AddCommand(newTrainCmd()) }

// bundleFlags are the flags of warm train that may accompany --bundle: the
// bundle fixes every other one.
var bundleFlags = map[string]bool{
	"bundle": true, "out": true, "force": true, "eval": true,
	"state-dir": true, "save-every": true, "resume": true, "keep-state": true,
}

func newTrainCmd() *cobra.Command {
	var o pipeline.RMOptions
	var dropout float32
	var evalFiles []string
	var bundleDir string
	def := pipeline.RMConfig()
	cmd := &cobra.Command{
		Use:   "train -o OUT (--init CKPT | --bundle BUNDLE) DATA",
		Short: "Train a reward model with the Bradley-Terry loss",
		Long: `Train one reward model on a preference file (TRL JSONL, HH-RLHF JSONL(.gz) or
ETHICS CSV) with the Bradley-Terry loss -log sigmoid(r(chosen) - r(rejected)).

The trunk starts from --init (the base, an SFT snapshot or a reward model).
The reward head (score.weight) comes from --head (the shared linear-probed head
of a WARM sweep), else from --init if it has one, else it is fitted by a linear
probe on frozen features (--probe-steps; --probe-only stops there and saves the
probed model, the head to share). --corrupt flips that fraction of the training
labels (the same pairs for every --corrupt-seed).

--bundle trains one member of a federated sweep at a site, on the site's own
DATA: the bundle ('warm sweep export') gives the init, the shared head, the
dropout, max length, snapshot steps and the whole training configuration, so
the member is bit for bit the one 'warm sweep run MANIFEST --member K' would
train on the same file. Flags the bundle fixes (--init, --head, --lr, --steps,
--dropout, ...) are refused beside it; -o, --force, --eval and the
training-state flags remain. The checkpoint records no path of the site (the
init and head as "bundle:MEMBER/init" and ".../head", no data path) and no
text of DATA; it records the number of training pairs.`,
		Example: `  warm train -o runs/rm0 --init runs/sft.steps/step-000200 --head runs/head \
      --lr 5e-5 --dropout 0.1 --data-seed 3 data/train.jsonl --eval data/test.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if bundleDir != "" {
				var conflict []string
				cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
					if f.Changed && !bundleFlags[f.Name] {
						conflict = append(conflict, "--"+f.Name)
					}
				})
				if len(conflict) > 0 {
					return fmt.Errorf("train: --bundle fixes the member's init, head and hyper-parameters; remove %s", strings.Join(conflict, ", "))
				}
				if o.Out == "" {
					return errors.New("train: -o OUT is required")
				}
				b, err := sweep.LoadBundle(bundleDir)
				if err != nil {
					return err
				}
				fromBundle := b.RMOptions(o.Out, args[0])
				fromBundle.Replace, fromBundle.Resume = o.Replace, o.Resume
				o = fromBundle
				fmt.Fprintf(cmd.ErrOrStderr(), "training %s of bundle %s (base %s)\n", b.Member, bundleDir, b.Base.Fingerprint)
			} else {
				if o.Out == "" || o.Init == "" {
					return errors.New("train: -o OUT and --init CKPT (or --bundle BUNDLE) are required")
				}
				o.Data = args[0]
				if cmd.Flags().Changed("dropout") {
					o.Dropout = &dropout
				}
			}
			for _, f := range evalFiles {
				pairs, _, err := data.LoadPairs(f, data.LoadOptions{})
				if err != nil {
					return err
				}
				o.Eval = append(o.Eval, pipeline.PairSet{Name: f, Pairs: pairs})
			}
			p := newProgress()
			o.Progress, o.Log = p.update, p.logger()
			res, err := pipeline.TrainRM(cmd.Context(), o)
			p.finish()
			if err != nil {
				return err
			}
			fmt.Printf("reward model: %s (%s)\n", o.Out, res.Wall.Round(1e9))
			if n := len(res.History); n > 0 {
				fmt.Printf("  %d steps, final batch loss %.4f, accuracy %.3f\n", n, res.History[n-1].Loss, res.History[n-1].Acc)
			}
			if len(res.Eval) > 0 {
				rows := make([]evalRow, len(res.Eval))
				for i, e := range res.Eval {
					rows[i] = evalRow{Model: o.Out, Set: e.Name, Summary: e.Summary}
				}
				printEvalTable(os.Stdout, rows)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Out, "out", "o", "", "output checkpoint directory")
	fs.BoolVar(&o.Replace, "force", false, "replace an existing output")
	fs.StringVar(&bundleDir, "bundle", "", "train a federated member from this bundle (warm sweep export) on DATA")
	fs.StringVar(&o.Init, "init", "", "checkpoint the trunk starts from")
	fs.StringVar(&o.Head, "head", "", "reward-model checkpoint whose head to start from")
	fs.Float64Var(&o.CorruptRate, "corrupt", 0, "fraction of training labels to flip")
	fs.Uint64Var(&o.CorruptSeed, "corrupt-seed", 0, "seed choosing the flipped labels")
	fs.IntVar(&o.MaxLen, "max-len", 0, "maximum tokens per sequence (default: the model's context)")
	fs.Float32Var(&dropout, "dropout", 0, "dropout probability (default: the checkpoint's)")
	o.Probe = train.DefaultProbe()
	fs.IntVar(&o.Probe.Steps, "probe-steps", o.Probe.Steps, "linear-probe steps when no head is given (0: start from a zero head)")
	fs.Float64Var(&o.Probe.LR, "probe-lr", o.Probe.LR, "linear-probe learning rate (Adam, full batch)")
	fs.BoolVar(&o.ProbeOnly, "probe-only", false, "only fit the head on frozen features, and save")
	fs.IntSliceVar(&o.SaveAt, "save-at", nil, "steps after which to save a snapshot (into OUT.steps/step-NNNNNN)")
	fs.StringSliceVar(&evalFiles, "eval", nil, "preference files to evaluate the trained model on")
	addTrainFlags(fs, &o.Train, def, true)
	addResumeFlags(fs, &o.Resume)
	return cmd
}
