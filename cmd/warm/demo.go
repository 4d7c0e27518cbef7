package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/pipeline"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

func newDemoCmd() *cobra.Command {
	o := pipeline.DemoOptions{Seed: 1, Scale: 1}
	cmd := &cobra.Command{
		Use:   "demo [-o DIR]",
		Short: "Run the whole pipeline on the embedded synthetic task",
		Long: `Generate the synthetic summarisation task (a known gold reward, a spurious
length feature, an out-of-distribution split), train a tokenizer and a small
base model, fine-tune it with snapshots, train one reward model from it with a
linear-probed head, and evaluate it in and out of distribution. Needs nothing
but this repository; a few minutes on 2 cores.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := newProgress()
			o.Progress, o.Log = p.update, p.logger()
			res, err := pipeline.Demo(cmd.Context(), o)
			p.finish()
			if err != nil {
				return err
			}
			fmt.Printf("\nwarm demo finished in %s; everything is in %s\n", res.Wall.Round(time.Second), res.Dir)
			tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintf(tw, "  data\t%s/data\n  base model\t%s\t(validation loss %.3f)\n  SFT model\t%s\n", res.Dir, res.Base, res.ValLoss, res.SFT)
			for _, s := range res.Snapshots {
				fmt.Fprintf(tw, "  SFT snapshot\t%s\n", s)
			}
			fmt.Fprintf(tw, "  reward model\t%s\t(linear probe train accuracy %.3f)\n  all numbers\t%s/demo.json\n", res.RM, res.ProbeAcc, res.Dir)
			tw.Flush()
			fmt.Println("\nReward model accuracy (ties count as wrong):")
			rows := make([]evalRow, len(res.Eval))
			for i, e := range res.Eval {
				rows[i] = evalRow{Model: "rm", Set: e.Name, Summary: e.Summary}
			}
			printEvalTable(os.Stdout, rows)
			fmt.Println("\nStage times:")
			for _, s := range res.Stages {
				fmt.Printf("  %-14s %s\n", s.Stage, s.Wall.Round(100*time.Millisecond))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Dir, "out", "o", "warm-demo", "output directory")
	fs.BoolVar(&o.Replace, "force", false, "replace an existing output directory")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the task, the initialisation, dropout and data order")
	fs.Float64Var(&o.Scale, "scale", o.Scale, "multiply every step count (e.g. 0.1 for a quick look)")
	return cmd
}
