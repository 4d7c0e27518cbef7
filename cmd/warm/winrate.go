package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
)

func init() { rootCmd.AddCommand(newWinRateCmd()) }

// isRLRun reports whether dir is an RL run directory (it has checkpoints/).
func isRLRun(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "checkpoints"))
	return err == nil && st.IsDir()
}

func newWinRateCmd() *cobra.Command {
	var (
		pf          policyFlags
		out, sft    string
		nameA       string
		nameB       string
		n           int
		steps       []int
		force       bool
		cfg         = sample.DefaultConfig()
		defaultTok  = 40
		defaultSeed = uint64(11)
	)
	cfg.MaxTokens, cfg.Seed = defaultTok, defaultSeed
	cmd := &cobra.Command{
		Use:   "winrate A B --prompts FILE",
		Short: "Win rate of one policy's samples against another's, judged by the control reward",
		Long: `Sample --n responses per prompt from policies A and B (same sampling settings
and seed) and report how often A's sample has the higher control reward, ties
counting one half, with its standard error over prompts.

A and B are policy checkpoints, or two RL run directories: then every step
both runs saved is compared (A's policy at step s against B's at step s), a
win-rate table over RL steps; --sft adds each policy's win rate against the
SFT policy. -o DIR writes winrate.json, winrate.md and a plot.`,
		Example: `  warm winrate x/rl-warm6 x/rl-best --sft x/sft --prompts x/data/prompts.jsonl --max-prompts 128 -o x/winrate`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out != "" {
				if _, err := os.Stat(out); err == nil && !force {
					return fmt.Errorf("winrate: %s exists (--force replaces it)", out)
				}
			}
			prompts, err := pf.loadPrompts()
			if err != nil {
				return fmt.Errorf("winrate: %w", err)
			}
			control, err := policy.NewRewards().Parse(pf.control)
			if err != nil {
				return fmt.Errorf("winrate: control: %w", err)
			}
			if nameA == "" {
				nameA = filepath.Base(filepath.Clean(args[0]))
			}
			if nameB == "" {
				nameB = filepath.Base(filepath.Clean(args[1]))
			}
			a, b := args[0], args[1]
			var (
				result any
				md     string
				figs   []report.Figure
			)
			switch ra, rb := isRLRun(a), isRLRun(b); {
			case ra && rb:
				var sp *policy.Policy
				if sft != "" {
					if sp, err = policy.LoadPolicy(sft); err != nil {
						return fmt.Errorf("winrate: %w", err)
					}
				}
				t, err := policy.CompareRuns(cmd.Context(), a, b, sp, steps, prompts, n, cfg, control, stderrLog)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				result, md, figs = t, policy.RunsMarkdown(t, nameA, nameB), []report.Figure{policy.WinRateFigure(t, nameA, nameB)}
			case !ra && !rb:
				pa, err := policy.LoadPolicy(a)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				pb, err := policy.LoadPolicy(b)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				w, err := policy.Compare(cmd.Context(), pa, pb, prompts, n, cfg, control)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				result = w
				md = fmt.Sprintf("Win rate of %s against %s: %.3f ± %.3f (ties %.2f; control %.4f vs %.4f; repetition %.3f vs %.3f; %d prompts × %d samples, %s)\n",
					nameA, nameB, w.Rate, w.SE, w.Ties, w.ControlA, w.ControlB, w.RepetitionA, w.RepetitionB, len(prompts), n, control.Name())
			default:
				return errors.New("winrate: A and B must both be policy checkpoints or both be RL run directories")
			}
			if out != "" {
				err := atomicdir.Write(out, force, func(tmp string) error {
					if err := writeJSONFile(filepath.Join(tmp, "winrate.json"), result); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(tmp, "winrate.md"), []byte(md), 0o644); err != nil {
						return err
					}
					return report.WriteFigures(tmp, figs)
				})
				if err != nil {
					return fmt.Errorf("winrate: writing %s: %w", out, err)
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), md)
			return nil
		},
	}
	fs := cmd.Flags()
	pf.add(fs, false)
	fs.IntVar(&n, "n", 4, "samples per prompt and policy")
	fs.StringVar(&sft, "sft", "", "SFT policy: also compare each run's policies against it (RL runs only)")
	fs.IntSliceVar(&steps, "steps", nil, "compare only these steps (RL runs; default: every common step)")
	fs.StringVar(&nameA, "name-a", "", "label of A (default: its directory name)")
	fs.StringVar(&nameB, "name-b", "", "label of B (default: its directory name)")
	fs.StringVarP(&out, "out", "o", "", "output directory (optional)")
	fs.BoolVar(&force, "force", false, "replace an existing output directory")
	addSampleFlags(fs, &cfg)
	return cmd
}
