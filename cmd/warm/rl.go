package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/policy"
)

func init() { rootCmd.AddCommand(newRLCmd()) }

func newRLCmd() *cobra.Command {
	var (
		pf                    policyFlags
		policyPath, out, spec string
		evalPrompts           int
		resume                bool
		stateEvery            int
		cfg                   = policy.DefaultRLConfig()
	)
	cmd := &cobra.Command{
		Use:   "rl --policy SFT --reward SPEC --prompts FILE -o DIR",
		Short: "Policy-gradient RL of the SFT policy against a reward (single RM, ENS or WARM)",
		Long: `Fine-tune the SFT policy against a proxy reward with REINFORCE and a
leave-one-out baseline (RLOO: each sample's baseline is the mean penalised
reward of the other --samples-per-prompt samples of its prompt), a
KL(policy || SFT) penalty of weight --kl, an optional entropy bonus, an
optional model-free penalty on repeated content words (--repetition-penalty,
off by default; --repetition-stems to count repeated stems), AdamW with
gradient clipping. The proxy reward is normalised by its mean and standard
deviation over the SFT policy's evaluation samples, so --kl means the same
for every reward. The first --eval-prompts prompts are held out for
evaluation; the others feed the steps.

Every --save-every steps the policy is saved in DIR/checkpoints/step-NNNNNN and
evaluated: proxy and control reward, KL, entropy and length, in DIR/rl.json
with a report (rl.md and rl.html, the verdict first) and plots; every step
is logged in DIR/train_log.jsonl. Ctrl-C saves the training state; --resume
continues bit-identically.

Rewards: best, member:K, ens:M, warm:M (of a --sweep), rm:PATH, gold.`,
		Example: `  warm rl --policy x/sft --sweep x/sweep/manifest.json --reward warm:6 \
      --prompts x/data/prompts.jsonl -o x/rl-warm6`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if policyPath == "" || out == "" || spec == "" {
				return errors.New("rl: --policy, --reward and -o are required")
			}
			prompts, err := pf.loadPrompts()
			if err != nil {
				return fmt.Errorf("rl: %w", err)
			}
			if evalPrompts < 1 || evalPrompts >= len(prompts) {
				return fmt.Errorf("rl: --eval-prompts %d must leave training prompts among the %d prompts", evalPrompts, len(prompts))
			}
			p, err := policy.LoadPolicy(policyPath)
			if err != nil {
				return fmt.Errorf("rl: %w", err)
			}
			rs, err := pf.rewards(cmd, stderrLog)
			if err != nil {
				return fmt.Errorf("rl: %w", err)
			}
			defer rs.Close()
			reward, err := rs.Parse(spec)
			if err != nil {
				return fmt.Errorf("rl: %w", err)
			}
			control, err := rs.Parse(pf.control)
			if err != nil {
				return fmt.Errorf("rl: control: %w", err)
			}
			cfg.Train.BatchSize = cfg.PromptsPerStep * cfg.SamplesPerPrompt
			cfg.Train.MinLR = min(cfg.Train.MinLR, cfg.Train.LR)
			every := max(cfg.Train.Steps/50, 1)
			res, err := policy.RL(cmd.Context(), policy.RLOptions{
				Out: out, Config: cfg, Policy: p, Reward: reward, Control: control,
				TrainPrompts: prompts[evalPrompts:], EvalPrompts: prompts[:evalPrompts],
				StateEvery: stateEvery, Resume: resume, Log: stderrLog,
				Progress: func(s policy.RLStep) {
					if s.Step%every == 0 || s.Step == cfg.Train.Steps {
						stderrLog.Info(fmt.Sprintf("rl step %d/%d", s.Step, cfg.Train.Steps), "proxy", fmt.Sprintf("%+.3f", s.ProxyNorm),
							"control", fmt.Sprintf("%.3f", s.Control), "kl", fmt.Sprintf("%.3f", s.KL), "entropy", fmt.Sprintf("%.3f", s.Entropy),
							"tokens", fmt.Sprintf("%.1f", s.Tokens), "loss", fmt.Sprintf("%.4f", s.Loss), "grad_norm", fmt.Sprintf("%.3f", s.GradNorm),
							"seconds", fmt.Sprintf("%.2f", s.Seconds))
					}
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), policy.RLMarkdown([]*policy.RLResult{res}))
			fmt.Fprintf(cmd.OutOrStdout(), "\nresults: %s\n", filepath.Join(out, "rl.json"))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&policyPath, "policy", "", "SFT policy checkpoint (start and KL reference)")
	fs.StringVar(&spec, "reward", "", "proxy reward: best, member:K, ens:M, warm:M, rm:PATH, gold")
	pf.add(fs, true)
	fs.IntVar(&evalPrompts, "eval-prompts", 128, "the first N prompts are held out for evaluation")
	fs.StringVarP(&out, "out", "o", "", "run directory")
	fs.IntVar(&cfg.Train.Steps, "steps", cfg.Train.Steps, "optimiser steps")
	fs.IntVar(&cfg.PromptsPerStep, "prompts-per-step", cfg.PromptsPerStep, "prompts a step")
	fs.IntVar(&cfg.SamplesPerPrompt, "samples-per-prompt", cfg.SamplesPerPrompt, "samples per prompt (at least 2: leave-one-out baseline)")
	fs.Float64Var(&cfg.KLCoef, "kl", cfg.KLCoef, "KL(policy || SFT) penalty weight alpha (per nat, in normalised reward units)")
	fs.Float64Var(&cfg.EntropyCoef, "entropy", cfg.EntropyCoef, "entropy bonus weight beta")
	fs.Float64Var(&cfg.RepetitionCoef, "repetition-penalty", 0, "weight (normalised reward units) of a penalty on the share of a response's content words that repeat an earlier one (0: none)")
	fs.BoolVar(&cfg.RepetitionStems, "repetition-stems", false, "make --repetition-penalty count content words that repeat an earlier one's first 5 letters (made-up variants of one stem too)")
	fs.Float64Var(&cfg.Train.LR, "lr", cfg.Train.LR, "AdamW learning rate")
	fs.Float64Var(&cfg.Train.MinLR, "min-lr", cfg.Train.MinLR, "learning rate at the end of the decay")
	fs.Var(decayFlag{&cfg.Train.Decay}, "decay", "schedule after warm-up: constant, cosine or linear")
	fs.IntVar(&cfg.Train.Warmup, "warmup", cfg.Train.Warmup, "linear warm-up steps")
	fs.Float32Var(&cfg.Train.ClipNorm, "clip", cfg.Train.ClipNorm, "global gradient-norm clipping (0: off)")
	fs.Float32Var(&cfg.Train.WeightDecay, "weight-decay", cfg.Train.WeightDecay, "AdamW decoupled weight decay")
	fs.Uint64Var(&cfg.Train.Seed, "seed", cfg.Train.Seed, "seed of the per-step sampling")
	fs.Uint64Var(&cfg.Train.DataSeed, "data-seed", cfg.Train.DataSeed, "seed of the prompt order")
	fs.IntVar(&cfg.SaveEvery, "save-every", cfg.SaveEvery, "steps between policy checkpoints and evaluations")
	fs.IntVar(&cfg.EvalSamples, "eval-samples", cfg.EvalSamples, "samples per evaluation prompt")
	fs.Uint64Var(&cfg.EvalSeed, "eval-seed", cfg.EvalSeed, "sampling seed of the evaluations")
	fs.IntVar(&stateEvery, "state-every", 0, "steps between training-state checkpoints (0: --save-every)")
	fs.BoolVar(&resume, "resume", false, "continue the run in DIR")
	addSampleFlagsNoSeed(fs, &cfg.Sample)
	cmd.AddCommand(newRLCompareCmd())
	return cmd
}

func newRLCompareCmd() *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "compare RUN... -o DIR",
		Short: "Plot and tabulate several RL runs together (control reward against KL and steps)",
		Long: `Read the rl.json of several RL runs (e.g. against a single RM, ENS and WARM)
and draw them together: control reward against KL(policy || SFT), control and
proxy reward and length against steps; rl.md tabulates each run's peak control
reward, its last evaluation and whether the control reward fell from the peak
while the proxy reward rose (reward hacking); rl.html is the same page with
the figures.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("rl compare: -o DIR is required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("rl compare: %s exists (--force replaces it)", out)
			}
			var runs []*policy.RLResult
			for _, a := range args {
				r, err := policy.ReadRLResult(a)
				if err != nil {
					return fmt.Errorf("rl compare: %w", err)
				}
				runs = append(runs, r)
			}
			if err := policy.WriteRLReport(out, runs, force); err != nil {
				return fmt.Errorf("rl compare: %w", err)
			}
			md := policy.RLMarkdown(runs)
			fmt.Fprint(cmd.OutOrStdout(), md)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output directory")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing output directory")
	return cmd
}
