package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/pipeline"
)

func init() { rootCmd.AddCommand(newEvalCmd()) }

type evalRow struct {
	Model   string       `json:"model"`
	Set     string       `json:"set"`
	Summary eval.Summary `json:"summary"`
}

func printEvalTable(w io.Writer, rows []evalRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "model\tset\tpairs\taccuracy\t±se\tties\tmean margin\tr(chosen)\tr(rejected)")
	for _, r := range rows {
		s := r.Summary
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f\t%.4f\t%d\t%.4f\t%.3f±%.3f\t%.3f±%.3f\n", r.Model, r.Set, s.N, s.Accuracy, s.StdErr, s.Ties,
			s.MeanMargin, s.Chosen.Mean, s.Chosen.Std, s.Rejected.Mean, s.Rejected.Std)
	}
	tw.Flush()
}

func newEvalCmd() *cobra.Command {
	var (
		models  []string
		jsonOut string
		maxLen  int
		skipBad bool
	)
	cmd := &cobra.Command{
		Use:   "eval --model CKPT [--model CKPT...] PAIRS...",
		Short: "Pairwise accuracy, margins and reward statistics of reward models",
		Long: `Score preference files with one or more reward-model checkpoints and report,
per model and file: pairwise accuracy (a tie counts as not correct and is
reported separately) with its standard error, the mean margin
r(chosen) - r(rejected), and reward statistics. --json writes every number.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(models) == 0 {
				return errors.New("eval: --model CKPT is required")
			}
			sets := make([][]data.Pair, len(args))
			for i, f := range args {
				pairs, st, err := data.LoadPairs(f, data.LoadOptions{SkipBad: skipBad})
				if err != nil {
					return err
				}
				if st.Skipped > 0 {
					fmt.Fprintf(os.Stderr, "%s: %s\n", f, st.Summary())
				}
				sets[i] = pairs
			}
			var rows []evalRow
			for _, mp := range models {
				ck, err := checkpoint.Load(mp)
				if err != nil {
					return err
				}
				if ck.Tokenizer == nil {
					return fmt.Errorf("eval: %s has no tokenizer.json", mp)
				}
				for i, pairs := range sets {
					s, err := pipeline.EvaluatePairs(cmd.Context(), ck.Model, ck.Tokenizer, pairs, maxLen)
					if err != nil {
						return fmt.Errorf("eval: %s on %s: %w", mp, args[i], err)
					}
					rows = append(rows, evalRow{Model: mp, Set: args[i], Summary: s})
				}
			}
			printEvalTable(os.Stdout, rows)
			if jsonOut != "" {
				b, err := json.MarshalIndent(rows, "", "  ")
				if err != nil {
					return err
				}
				return atomicdir.WriteFile(jsonOut, append(b, '\n'))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&models, "model", nil, "reward-model checkpoint (repeatable)")
	fs.StringVar(&jsonOut, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&maxLen, "max-len", 0, "maximum tokens per sequence (default: the model's context)")
	fs.BoolVar(&skipBad, "skip-bad", false, "skip malformed records (they are counted) instead of failing")
	return cmd
}
