package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/demo"
)

func init() { rootCmd.AddCommand(newDemoCmd()) }

func newDemoCmd() *cobra.Command {
	o := demo.Options{Seed: 1, Scale: 1}
	cmd := &cobra.Command{
		Use:   "demo [-o DIR]",
		Short: "WARM end to end on the embedded synthetic task: members, WA, ENS, best-of-N",
		Long: `Generate the synthetic summarisation task (a known gold reward; noisy labels
and no length shortcut shared by every member, so that weight averaging has
something to do), train a tokenizer and a small base model, fine-tune it with
snapshots (the Baklava inits), train M diverse reward models from one
linear-probed head with 30% of the training labels flipped, and compare the
members, their weight average WA(M) and their ensemble ENS(M): accuracy in
and out of distribution, memorisation of the flipped labels, and cost. Then
best-of-N from the SFT policy under the best member, ENS(M) and WA(M),
judged by the gold reward. Prints the verdict and the table and writes
DIR/demo/demo.html (with the figures), DIR/report (the full experiment
report) and DIR/bon. Needs nothing but this repository.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := newProgress()
			o.Progress, o.Log = p.update, p.logger()
			res, err := demo.Run(cmd.Context(), o)
			p.finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\nwarm demo finished in %s; everything is in %s\n\n", res.Wall.Round(time.Second), res.Dir)
			for _, v := range res.Verdict() {
				fmt.Fprintf(out, "  %s\n", v)
			}
			fmt.Fprintln(out)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "model\tID test\tOOD test\ttrain flipped (memorised)\tms / 1,000 pairs\t")
			for _, r := range res.Table() {
				fmt.Fprintf(tw, "%s\t%.3f ± %.3f\t%.3f ± %.3f\t%.3f ± %.3f\t%.0f (%.1f×)\t\n", r.Name, r.ID, r.IDSE, r.OOD, r.OODSE, r.Flipped, r.FlipSE, r.MsPer1000, r.CostRatio)
			}
			tw.Flush()
			fmt.Fprintf(out, "\nreport: %s (full experiment: %s/report.html; best-of-N: %s/bon.html)\n", res.HTML, res.Report, res.BoNDir)
			for _, s := range res.Stages {
				fmt.Fprintf(out, "  %-40s %s\n", s.Name, s.Wall.Round(100*time.Millisecond))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Dir, "out", "o", "warm-demo", "output directory (finished stages are reused)")
	fs.BoolVar(&o.Replace, "force", false, "remove the output directory first")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the task, the initialisation, dropout, data order and sampling")
	fs.Float64Var(&o.Scale, "scale", o.Scale, "multiply every step count (e.g. 0.1 for a quick look)")
	fs.IntVar(&o.M, "members", demo.DefaultM, "members M")
	fs.IntVar(&o.Prompts, "prompts", demo.DefaultPrompts, "best-of-N prompts")
	fs.IntVar(&o.MaxN, "max-n", demo.DefaultMaxN, "largest N of best-of-N (a power of two)")
	return cmd
}
