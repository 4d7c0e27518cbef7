package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/scorer"
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

type pairedRow struct {
	A      string  `json:"a"`
	B      string  `json:"b"`
	Set    string  `json:"set"`
	Diff   float64 `json:"diff"`
	StdErr float64 `json:"stderr"`
	// Agree is the fraction of pairs on which A and B prefer the same
	// response (both correct or both wrong).
	Agree float64 `json:"agree"`
}

// pairScorer loads the reward model at dir, of any family, and returns
// what scores pairs with it: warm's GPT-2 reward models through the
// pipeline's layout (cut from the left to maxLen tokens, 0 for the model's
// context), other families through package scorer.
//
// fluency:DIR scores with a language model instead (scorer.Fluency: the
// mean log-probability per response token), a control to check against
// the same pairs.
func pairScorer(dir string, maxLen int) (func(context.Context, []data.Pair) ([]float32, []float32, error), error) {
	if lmDir, ok := strings.CutPrefix(dir, "fluency:"); ok {
		if maxLen != 0 {
			return nil, fmt.Errorf("eval: --max-len cuts reward models' sequences; the fluency judge %s cuts only what exceeds its context", lmDir)
		}
		f, err := scorer.LoadFluency(lmDir)
		if err != nil {
			return nil, err
		}
		return f.ScorePairs, nil
	}
	typ, err := checkpoint.ModelType(dir)
	if err != nil {
		return nil, err
	}
	if typ != "gpt2" {
		if maxLen != 0 {
			return nil, fmt.Errorf("eval: --max-len cuts warm's GPT-2 sequences; %s (%s) reads whole sequences and refuses longer ones", dir, typ)
		}
		s, err := scorer.Load(dir)
		if err != nil {
			return nil, err
		}
		if s.Tok == nil {
			return nil, fmt.Errorf("eval: %s has no tokenizer.json", dir)
		}
		return func(ctx context.Context, pairs []data.Pair) ([]float32, []float32, error) {
			return s.ScorePairs(ctx, pairs, 16)
		}, nil
	}
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	if ck.Tokenizer == nil {
		return nil, fmt.Errorf("eval: %s has no tokenizer.json", dir)
	}
	// Only scored from here on: pack its weights once for every pass.
	ck.Model.PackForInference()
	return func(ctx context.Context, pairs []data.Pair) ([]float32, []float32, error) {
		return pipeline.ScorePairs(ctx, ck.Model, ck.Tokenizer, pairs, maxLen)
	}, nil
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
r(chosen) - r(rejected), and reward statistics. With several models, also
the paired difference of per-pair correctness between the first model and
each other one, with its standard error. --json writes every number.

--model fluency:DIR judges the same pairs by a language model's likelihood
instead: the mean log-probability per response token given the prompt (no
reward model; e.g. whether a control prefers fluent text to degenerate).`,
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
			correct := map[[2]int][]bool{} // (model, set) -> per-pair correctness
			for mi, mp := range models {
				score, err := pairScorer(mp, maxLen)
				if err != nil {
					return err
				}
				for i, pairs := range sets {
					c, r, err := score(cmd.Context(), pairs)
					if err != nil {
						return fmt.Errorf("eval: %s on %s: %w", mp, args[i], err)
					}
					rows = append(rows, evalRow{Model: mp, Set: args[i], Summary: eval.Summarize(c, r)})
					correct[[2]int{mi, i}] = eval.Correct(c, r)
				}
			}
			printEvalTable(os.Stdout, rows)
			var paired []pairedRow
			for mi := 1; mi < len(models); mi++ {
				for i := range sets {
					a, b := correct[[2]int{0, i}], correct[[2]int{mi, i}]
					d, se := eval.PairedDiff(a, b)
					paired = append(paired, pairedRow{A: models[0], B: models[mi], Set: args[i], Diff: d, StdErr: se, Agree: eval.Agreement(a, b)})
				}
			}
			if len(paired) > 0 {
				fmt.Println("\nPaired differences of per-pair correctness (first model − other), with standard errors,\nand how often the two prefer the same response:")
				tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "A\tB\tset\tA − B\t± se\tagree")
				for _, p := range paired {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%+.4f\t%.4f\t%.4f\n", p.A, p.B, p.Set, p.Diff, p.StdErr, p.Agree)
				}
				tw.Flush()
			}
			if jsonOut != "" {
				b, err := json.MarshalIndent(map[string]any{"results": rows, "paired": paired}, "", "  ")
				if err != nil {
					return err
				}
				return atomicdir.WriteFile(jsonOut, append(b, '\n'))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&models, "model", nil, "reward-model checkpoint, or fluency:DIR for a language model's mean log-probability per response token (repeatable)")
	fs.StringVar(&jsonOut, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&maxLen, "max-len", 0, "maximum tokens per sequence (default: the model's context)")
	fs.BoolVar(&skipBad, "skip-bad", false, "skip malformed records (they are counted) instead of failing")
	return cmd
}
