package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
		also        []string
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
SFT policy. -o DIR writes winrate.json, winrate.md and a plot.

--also-control SPEC=DIR judges the same samples by another control too and
writes its results to DIR: each control's win rates are those a run of its
own would give, and the policies are sampled once.`,
		Example: `  warm winrate x/rl-warm6 x/rl-best --sft x/sft --prompts x/data/prompts.jsonl --max-prompts 128 -o x/winrate`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			judges := []winJudge{{spec: pf.control, out: out}}
			for _, a := range also {
				k := strings.LastIndex(a, "=")
				if k <= 0 || k == len(a)-1 {
					return fmt.Errorf("winrate: --also-control %q: want SPEC=DIR (e.g. rm:path/to/control=out/winrate-control2)", a)
				}
				judges = append(judges, winJudge{spec: a[:k], out: a[k+1:]})
			}
			rs := policy.NewRewards()
			controls := make([]policy.Reward, len(judges))
			for k, j := range judges {
				if j.out != "" {
					if _, err := os.Stat(j.out); err == nil && !force {
						return fmt.Errorf("winrate: %s exists (--force replaces it)", j.out)
					}
				}
				c, err := rs.Parse(j.spec)
				if err != nil {
					return fmt.Errorf("winrate: control %s: %w", j.spec, err)
				}
				controls[k] = c
			}
			prompts, err := pf.loadPrompts()
			if err != nil {
				return fmt.Errorf("winrate: %w", err)
			}
			if nameA == "" {
				nameA = filepath.Base(filepath.Clean(args[0]))
			}
			if nameB == "" {
				nameB = filepath.Base(filepath.Clean(args[1]))
			}
			a, b := args[0], args[1]
			switch ra, rb := isRLRun(a), isRLRun(b); {
			case ra && rb:
				var sp *policy.Policy
				if sft != "" {
					if sp, err = policy.LoadPolicy(sft); err != nil {
						return fmt.Errorf("winrate: %w", err)
					}
				}
				ts, err := policy.CompareRunsAll(cmd.Context(), a, b, sp, steps, prompts, n, cfg, controls, stderrLog)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				for k, t := range ts {
					judges[k].result, judges[k].md = t, policy.RunsMarkdown(t, nameA, nameB)
					judges[k].figs = []report.Figure{policy.WinRateFigure(t, nameA, nameB)}
				}
			case !ra && !rb:
				pa, err := policy.LoadPolicy(a)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				pb, err := policy.LoadPolicy(b)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				ws, err := policy.CompareAll(cmd.Context(), pa, pb, prompts, n, cfg, controls)
				if err != nil {
					return fmt.Errorf("winrate: %w", err)
				}
				for k, w := range ws {
					judges[k].result = w
					judges[k].md = fmt.Sprintf("Win rate of %s against %s: %.3f ± %.3f (ties %.2f; control %.4f vs %.4f; repetition %.3f vs %.3f; %d prompts × %d samples, %s)\n",
						nameA, nameB, w.Rate, w.SE, w.Ties, w.ControlA, w.ControlB, w.RepetitionA, w.RepetitionB, len(prompts), n, controls[k].Name())
				}
			default:
				return errors.New("winrate: A and B must both be policy checkpoints or both be RL run directories")
			}
			for k, j := range judges {
				if j.out != "" {
					if err := j.write(force); err != nil {
						return fmt.Errorf("winrate: writing %s: %w", j.out, err)
					}
				}
				if k > 0 {
					fmt.Fprintln(cmd.OutOrStdout())
				}
				fmt.Fprint(cmd.OutOrStdout(), j.md)
			}
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
	fs.StringArrayVar(&also, "also-control", nil, "SPEC=DIR: judge the same samples by another control reward too, writing its results to DIR (repeatable; the samples are drawn once)")
	fs.BoolVar(&force, "force", false, "replace an existing output directory")
	addSampleFlags(fs, &cfg)
	return cmd
}

// winJudge is one control of a winrate run and what it found.
type winJudge struct {
	spec, out string
	result    any
	md        string
	figs      []report.Figure
}

// write writes j's winrate.json, winrate.md and figures to j.out atomically.
func (j winJudge) write(force bool) error {
	return atomicdir.Write(j.out, force, func(tmp string) error {
		if err := writeJSONFile(filepath.Join(tmp, "winrate.json"), j.result); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, "winrate.md"), []byte(j.md), 0o644); err != nil {
			return err
		}
		return report.WriteFigures(tmp, j.figs)
	})
}
