package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/experiment"
	"github.com/warm-rm/warm/sweep"
)

func init() { rootCmd.AddCommand(newReportCmd()) }

func newReportCmd() *cobra.Command {
	var (
		out       string
		title     string
		o         experiment.EvalOptions
		force     bool
		aggregate bool
	)
	cmd := &cobra.Command{
		Use:   "report MANIFEST -o DIR | report --aggregate REPORT... -o DIR",
		Short: "Evaluate a trained sweep (members, WA, ENS, LMC) and write the report",
		Long: `Score every member of a sweep, the weight average WA(M) and the prediction
ensemble ENS(M) of the top M members (ranked on ood_dev) on clean and
corrupted training pairs, in and out of distribution; measure inference cost
and linear mode connectivity; check the paper's observations against paired
per-example standard errors; write report.md, a self-contained report.html,
results.json and the figures into DIR.

With --aggregate, read the results.json of several reports (the same protocol
with different sweep seeds) and write the mean and standard deviation of the
key comparisons across them (aggregate.md, aggregate.json).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("report: -o DIR is required")
			}
			if aggregate {
				if title == "" {
					title = "WARM across sweep seeds"
				}
				ag, err := experiment.WriteAggregate(out, args, title, "warm "+strings.Join(os.Args[1:], " "), force)
				if err != nil {
					return err
				}
				fmt.Print(ag.Markdown(title, "warm "+strings.Join(os.Args[1:], " ")))
				return nil
			}
			if len(args) != 1 {
				return errors.New("report: one MANIFEST (or --aggregate REPORT...)")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("report: %s exists (use --force to replace it)", out)
			}
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			sets, err := experiment.LoadSets(man, o.MaxPairs, o.Seed)
			if err != nil {
				return err
			}
			p := newProgress()
			o.Log = p.logger()
			res, err := experiment.Evaluate(cmd.Context(), man, sets, o)
			if err != nil {
				return err
			}
			res.Manifest = args[0]
			if title == "" {
				title = "WARM sweep " + args[0]
			}
			info := experiment.ReportInfo{Title: title, Command: "warm " + strings.Join(os.Args[1:], " "),
				Machine: fmt.Sprintf("%d threads, %s/%s", threads, runtime.GOOS, runtime.GOARCH)}
			if err := experiment.WriteReport(out, info, res, force); err != nil {
				return err
			}
			printObservations(args[0], res)
			fmt.Printf("report: %s/report.md, %s/report.html\n", out, out)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", "", "report directory")
	fs.BoolVar(&force, "force", false, "replace an existing report")
	fs.StringVar(&title, "title", "", "report title")
	fs.IntSliceVar(&o.Ms, "m", nil, "ensemble sizes (default 2, 4, 6, 10 where available, and all)")
	fs.IntVar(&o.MaxPairs, "max-pairs", 2000, "pairs per evaluation set (seeded subsample; 0: all)")
	fs.IntVar(&o.LMCPairs, "lmc-pairs", 1000, "pairs per LMC set")
	fs.StringVar(&o.RankSet, "rank-set", "ood_dev", "set that ranks members")
	fs.BoolVar(&o.GreedySoup, "greedy-soup", false, "also evaluate the greedy soup")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the subsamples")
	fs.BoolVar(&aggregate, "aggregate", false, "aggregate several report directories instead of evaluating a manifest")
	return cmd
}
