package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
)

func init() { rootCmd.AddCommand(newBoNCmd()) }

func newBoNCmd() *cobra.Command {
	var (
		pf                 policyFlags
		policyPath, out    string
		rewards, compare   []string
		maxN, refs         int
		memberErrs         int
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
gold. DIR receives bon.json, the report bon.md and bon.html (opening on
which proxy's pick scores best and whether any proxy is hacked) and the
figures (PNG and SVG).`,
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
			rs, err := pf.rewards(cmd, stderrLog)
			if err != nil {
				return fmt.Errorf("bon: %w", err)
			}
			defer rs.Close()
			o := policy.BoNOptions{Prompts: prompts, MaxN: maxN, RefSamples: refs, Sample: cfg, Log: stderrLog}
			if !cmd.Flags().Changed("compare") {
				compare = nil // each reward against best, warm:M against ens:M
			}
			if err := rs.BoNSpecs(&o, rewards, memberErrs, pf.control, compare); err != nil {
				return fmt.Errorf("bon: %w", err)
			}
			res, err := policy.BestOfN(cmd.Context(), p, o)
			if err != nil {
				return err
			}
			res.Policy = policyPath
			if err := policy.WriteBoN(out, res, force); err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), policy.BoNMarkdown(res))
			fmt.Fprintf(cmd.OutOrStdout(), "\nresults: %s\n", filepath.Join(out, policy.BoNFile))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&policyPath, "policy", "", "policy checkpoint to sample from (the SFT policy)")
	pf.add(fs, true)
	fs.IntVar(&maxN, "max-n", 64, "largest N (a power of two)")
	fs.IntVar(&memberErrs, "member-errors", 0, "also score the pool with the top K members: their agreement with the control and the correlation of their errors on the policy's samples")
	fs.IntVar(&refs, "ref-samples", 16, "independent samples per prompt that picks are judged against (the random SFT sample)")
	fs.StringSliceVar(&rewards, "rewards", defaultBoNRewards, "proxy rewards (best, member:K, ens:M, warm:M, rm:PATH, gold)")
	fs.StringSliceVar(&compare, "compare", nil, "win-rate comparisons A=B between --rewards (default: each reward against best, warm:M against ens:M)")
	fs.StringVarP(&out, "out", "o", "", "output directory")
	fs.BoolVar(&force, "force", false, "replace an existing output directory")
	addSampleFlags(fs, &cfg)
	return cmd
}
