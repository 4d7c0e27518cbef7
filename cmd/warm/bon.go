package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
)

func init() { rootCmd.AddCommand(newBoNCmd()) }

// policyFlags are the inputs shared by bon, rl and winrate.
type policyFlags struct {
	manifest, results, prompts, control string
	maxPrompts                          int
}

func (pf *policyFlags) add(fs *pflag.FlagSet, sweepFlags bool) {
	if sweepFlags {
		fs.StringVar(&pf.manifest, "sweep", "", "sweep manifest whose members the rewards use (e.g. DIR/sweep/manifest.json)")
		fs.StringVar(&pf.results, "results", "", "experiment results.json ranking the members (default: DIR/report/results.json beside the sweep, else rank by ood_dev accuracy)")
	}
	fs.StringVar(&pf.prompts, "prompts", "", "prompt JSONL file ({\"prompt\": ...} a line; e.g. DIR/data/prompts.jsonl)")
	fs.IntVar(&pf.maxPrompts, "max-prompts", 0, "use the first N prompts (0: all)")
	fs.StringVar(&pf.control, "control", "gold", "control reward: gold (synthetic task) or rm:PATH (a control RM)")
}

// loadPrompts reads the prompt texts.
func (pf *policyFlags) loadPrompts() ([]string, error) {
	if pf.prompts == "" {
		return nil, errors.New("--prompts FILE is required")
	}
	ex, _, err := data.LoadExamples(pf.prompts, data.LoadOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ex {
		out = append(out, e.Prompt)
	}
	if pf.maxPrompts > 0 && len(out) > pf.maxPrompts {
		out = out[:pf.maxPrompts]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", pf.prompts)
	}
	return out, nil
}

// rewards opens the sweep (if any).
func (pf *policyFlags) rewards(cmd *cobra.Command, log func(string, ...any)) (*policy.Rewards, error) {
	if pf.manifest == "" {
		return policy.NewRewards(), nil
	}
	rs, err := policy.OpenRewards(cmd.Context(), pf.manifest, policy.RankOptions{Results: pf.results, Log: log})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(rs.Ranking))
	for r, i := range rs.Ranking {
		names[r] = rs.Manifest.Members[i].Name
	}
	log("members ranked by %s: %s", rs.RankedBy, strings.Join(names, " > "))
	return rs, nil
}

// addSampleFlags registers the sampling flags.
func addSampleFlags(fs *pflag.FlagSet, c *sample.Config) {
	fs.Float64Var(&c.Temperature, "temperature", c.Temperature, "sampling temperature (0: greedy)")
	fs.IntVar(&c.TopK, "top-k", c.TopK, "keep the K most likely tokens (0: all)")
	fs.Float64Var(&c.TopP, "top-p", c.TopP, "nucleus sampling mass (0: off)")
	fs.IntVar(&c.MaxTokens, "max-tokens", c.MaxTokens, "maximum response tokens (EOS included)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "sampling seed")
	fs.IntVar(&c.BatchSize, "gen-batch", c.BatchSize, "sequences decoded together")
}

func stderrf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// writeJSONFile writes v as indented JSON to path, atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicdir.WriteFile(path, append(b, '\n'))
}

// defaultComparisons compares every reward with "best" and WARM(M) with
// ENS(M), among the rewards given.
func defaultComparisons(specs []string) []string {
	var out []string
	has := map[string]bool{}
	for _, s := range specs {
		has[s] = true
	}
	for _, s := range specs {
		if s != "best" && has["best"] {
			out = append(out, s+"=best")
		}
		if m, ok := strings.CutPrefix(s, "warm:"); ok && has["ens:"+m] {
			out = append(out, s+"=ens:"+m)
		}
	}
	return out
}

func newBoNCmd() *cobra.Command {
	var (
		pf                 policyFlags
		policyPath, out    string
		rewards, compare   []string
		maxN, refs         int
		force              bool
		cfg                = sample.DefaultConfig()
		defaultBoNRewards  = []string{"best", "ens:6", "warm:6"}
		defaultBoNMaxToken = 40
	)
	cfg.MaxTokens = defaultBoNMaxToken
	cmd := &cobra.Command{
		Use:   "bon --policy SFT --sweep MANIFEST --prompts FILE -o DIR",
		Short: "Best-of-N against single, ENS and WARM reward models, judged by a control reward",
		Long: `Best-of-N: for each prompt, draw --max-n samples from the policy once, pick the
best by each reward (a single member, ENS of M, WARM of M, any RM checkpoint)
and judge the pick with the control reward. N runs over 1, 2, 4, ..., --max-n;
every N is estimated from all --max-n samples (unbiased estimator), against
KL_BoN = log N - (N-1)/N. Also: the proxy reward of the pick, win rates of one
reward's pick against another's (--compare A=B) and against a random SFT
sample (--ref-samples independent ones), judged by the control reward with
ties split.

Rewards: best (the member ranked first), member:K, ens:M, warm:M, rm:PATH,
gold. DIR receives bon.json, bon.md and the figures (PNG and SVG).`,
		Example: `  warm bon --policy x/sft --sweep x/sweep/manifest.json --prompts x/data/prompts.jsonl \
      --max-prompts 128 --max-n 256 --rewards best,ens:6,warm:6 -o x/bon`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyPath == "" || out == "" {
				return errors.New("bon: --policy and -o are required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("bon: %s exists (--force replaces it)", out)
			}
			prompts, err := pf.loadPrompts()
			if err != nil {
				return fmt.Errorf("bon: %w", err)
			}
			p, err := policy.LoadPolicy(policyPath)
			if err != nil {
				return fmt.Errorf("bon: %w", err)
			}
			rs, err := pf.rewards(cmd, stderrf)
			if err != nil {
				return fmt.Errorf("bon: %w", err)
			}
			o := policy.BoNOptions{Prompts: prompts, MaxN: maxN, RefSamples: refs, Sample: cfg, Log: stderrf}
			byName := map[string]string{}
			for _, spec := range rewards {
				r, err := rs.Parse(spec)
				if err != nil {
					return fmt.Errorf("bon: %w", err)
				}
				o.Rewards = append(o.Rewards, r)
				byName[spec] = r.Name()
			}
			if o.Control, err = rs.Parse(pf.control); err != nil {
				return fmt.Errorf("bon: control: %w", err)
			}
			if !cmd.Flags().Changed("compare") {
				compare = defaultComparisons(rewards)
			}
			for _, c := range compare {
				a, b, ok := strings.Cut(c, "=")
				if !ok {
					return fmt.Errorf("bon: --compare %q: want A=B (reward specs)", c)
				}
				na, oka := byName[a]
				nb, okb := byName[b]
				if !oka || !okb {
					return fmt.Errorf("bon: --compare %q: both sides must be among --rewards", c)
				}
				o.Compare = append(o.Compare, [2]string{na, nb})
			}
			res, err := policy.BestOfN(cmd.Context(), p, o)
			if err != nil {
				return err
			}
			res.Policy = policyPath
			err = atomicdir.Write(out, force, func(tmp string) error {
				if err := writeJSONFile(filepath.Join(tmp, "bon.json"), res); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(tmp, "bon.md"), []byte(policy.BoNMarkdown(res)), 0o644); err != nil {
					return err
				}
				return policy.WriteFigures(tmp, policy.BoNFigures(res))
			})
			if err != nil {
				return fmt.Errorf("bon: writing %s: %w", out, err)
			}
			fmt.Fprint(cmd.OutOrStdout(), policy.BoNMarkdown(res))
			fmt.Fprintf(cmd.OutOrStdout(), "\nresults: %s\n", filepath.Join(out, "bon.json"))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&policyPath, "policy", "", "policy checkpoint to sample from (the SFT policy)")
	pf.add(fs, true)
	fs.IntVar(&maxN, "max-n", 64, "largest N (a power of two)")
	fs.IntVar(&refs, "ref-samples", 16, "independent samples per prompt that picks are judged against (the random SFT sample)")
	fs.StringSliceVar(&rewards, "rewards", defaultBoNRewards, "proxy rewards (best, member:K, ens:M, warm:M, rm:PATH, gold)")
	fs.StringSliceVar(&compare, "compare", nil, "win-rate comparisons A=B between --rewards (default: each reward against best, warm:M against ens:M)")
	fs.StringVarP(&out, "out", "o", "", "output directory")
	fs.BoolVar(&force, "force", false, "replace an existing output directory")
	addSampleFlags(fs, &cfg)
	return cmd
}
