package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
)

func init() {
	rootCmd.AddCommand(newDataCmd())
}

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Generate the synthetic task and inspect data files",
		Long: `Work with warm's data: generate the embedded synthetic summarisation task
('warm data synth'), load any supported file and print what is in it
('warm data stats'), or pair fluent texts with degenerate versions of them
('warm data degenerate').`,
	}
	cmd.AddCommand(newDataSynthCmd(), newDataStatsCmd(), newDataDegenerateCmd(), newDataRepetitionCmd())
	return cmd
}

func newDataSynthCmd() *cobra.Command {
	cfg := synth.DefaultConfig()
	var (
		out      string
		corpusMB float64
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "synth -o DIR",
		Short: "Write the synthetic summarisation task to a directory",
		Long: `Generate the synthetic summarisation task (deterministic from --seed) and
write it to DIR: train.jsonl, test.jsonl, ood_dev.jsonl, ood_test.jsonl (TRL
preference JSONL with gold rewards), sft.jsonl, prompts.jsonl, corpus.txt and
task.json. Files are written to temporary files and renamed into place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("data synth: -o DIR is required")
			}
			cfg.CorpusBytes = int(corpusMB * (1 << 20))
			start := time.Now()
			task, err := synth.Generate(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if err := task.WriteDir(out); err != nil {
				return err
			}
			st := task.Stats()
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, map[string]any{"dir": out, "config": cfg, "stats": st})
			}
			fmt.Fprintf(w, "wrote synthetic task (seed %d) to %s in %.2fs: %d prompts, %d SFT examples, %d corpus documents\n",
				cfg.Seed, out, time.Since(start).Seconds(), len(task.Prompts), len(task.SFT), len(task.Corpus))
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "split\tpairs\tflipped\tlonger wins\tlabel=gold\tbeta implies\tgold chosen\tgold rejected\t~tokens p95")
			for _, s := range st {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.2f\t%.2f\t%d\n", s.Name, s.Pairs, s.Flipped, s.LongerWins,
					s.LabelAgreesGold, s.ExpectedAgree, s.MeanGoldChosen, s.MeanGoldRejected, s.ApproxTokensP95)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "output directory (created if needed)")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "generator seed")
	f.IntVar(&cfg.TrainPairs, "train-pairs", cfg.TrainPairs, "train preference pairs")
	f.IntVar(&cfg.TestPairs, "test-pairs", cfg.TestPairs, "in-distribution test pairs")
	f.IntVar(&cfg.OODDevPairs, "ood-dev-pairs", cfg.OODDevPairs, "OOD dev pairs (used to rank members)")
	f.IntVar(&cfg.OODTestPairs, "ood-test-pairs", cfg.OODTestPairs, "OOD test pairs")
	f.IntVar(&cfg.PairsPerPost, "pairs-per-post", cfg.PairsPerPost, "train pairs sharing one post")
	f.IntVar(&cfg.Prompts, "prompts", cfg.Prompts, "held-out prompts for policy sampling")
	f.IntVar(&cfg.SFTExamples, "sft", cfg.SFTExamples, "SFT demonstrations")
	f.Float64Var(&corpusMB, "corpus-mb", float64(cfg.CorpusBytes)/(1<<20), "pre-training corpus size in MiB")
	f.Float64Var(&cfg.Beta, "beta", cfg.Beta, "Bradley-Terry inverse temperature of the labeller (0 = coin flips)")
	f.Float64Var(&cfg.MinGap, "min-gap", cfg.MinGap, "smallest gold-reward gap within a pair")
	f.Float64Var(&cfg.CorruptRate, "corrupt", cfg.CorruptRate, "fraction of train labels to flip")
	f.BoolVar(&asJSON, "json", false, "print the statistics as JSON")
	return cmd
}

// fileStats is the machine-readable result of `warm data stats` for a file.
type fileStats struct {
	File     string               `json:"file"`
	Format   string               `json:"format"`
	Load     data.LoadStats       `json:"-"`
	Records  int                  `json:"records"`
	Skipped  int                  `json:"skipped"`
	Blank    int                  `json:"blank_lines"`
	Reasons  []string             `json:"skip_reasons,omitempty"`
	Pairs    *data.PairSummary    `json:"pairs,omitempty"`
	Examples *data.ExampleSummary `json:"examples,omitempty"`
	Text     *data.TextSummary    `json:"text,omitempty"`
}

func newDataStatsCmd() *cobra.Command {
	var (
		skipBad bool
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "stats FILE...",
		Short: "Load data files and print counts and length statistics",
		Long: `Load each file with the loader its type calls for (TRL/HH-RLHF preference
JSONL, optionally gzipped; ETHICS CSV; prompt/completion JSONL; plain text)
and print record counts, skipped records and length statistics in words.
The first malformed record is an error naming file:line unless --skip-bad.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opt := data.LoadOptions{SkipBad: skipBad}
			var all []fileStats
			for _, path := range args {
				fs, err := statFile(path, opt)
				if err != nil {
					return err
				}
				all = append(all, fs)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), all)
			}
			for _, fs := range all {
				printFileStats(cmd.OutOrStdout(), fs)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&skipBad, "skip-bad", false, "skip malformed records (and count them) instead of failing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the statistics as JSON")
	return cmd
}

func statFile(path string, opt data.LoadOptions) (fileStats, error) {
	format, err := data.DetectFormat(path)
	if err != nil {
		return fileStats{}, err
	}
	fs := fileStats{File: path, Format: format.String()}
	switch format {
	case data.FormatPairsJSONL, data.FormatETHICS:
		pairs, st, err := data.LoadPairs(path, opt)
		if err != nil {
			return fs, err
		}
		s := data.DescribePairs(pairs)
		fs.Load, fs.Pairs = st, &s
	case data.FormatExamplesJSONL:
		ex, st, err := data.LoadExamples(path, opt)
		if err != nil {
			return fs, err
		}
		s := data.DescribeExamples(ex)
		fs.Load, fs.Examples = st, &s
	case data.FormatText:
		docs, st, err := data.LoadText(path)
		if err != nil {
			return fs, err
		}
		s := data.DescribeText(docs)
		fs.Load, fs.Text = st, &s
	}
	fs.Records, fs.Skipped, fs.Blank = fs.Load.Records, fs.Load.Skipped, fs.Load.Blank
	for _, e := range fs.Load.Errors {
		fs.Reasons = append(fs.Reasons, e.Error())
	}
	return fs, nil
}

func printFileStats(w io.Writer, fs fileStats) {
	fmt.Fprintf(w, "%s: %s\n  %s\n", fs.File, fs.Format, fs.Load.Summary())
	for _, r := range fs.Reasons {
		fmt.Fprintf(w, "  skipped: %s\n", r)
	}
	if fs.Skipped > len(fs.Reasons) {
		fmt.Fprintf(w, "  (and %d more skipped)\n", fs.Skipped-len(fs.Reasons))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name string, l data.Lengths) {
		fmt.Fprintf(tw, "  %s\t%.1f\t%d\t%d\t%d\t%d\n", name, l.Mean, l.Min, l.P50, l.P95, l.Max)
	}
	header := func() { fmt.Fprintln(tw, "  words\tmean\tmin\tp50\tp95\tmax") }
	switch {
	case fs.Pairs != nil:
		p := fs.Pairs
		fmt.Fprintf(w, "  %d pairs, %d with empty prompt, %d flipped; chosen is the longer response in %.1f%% of pairs\n",
			p.Pairs, p.EmptyPrompt, p.Flipped, 100*p.ChosenLonger)
		header()
		row("prompt", p.Prompt)
		row("chosen", p.Chosen)
		row("rejected", p.Rejected)
	case fs.Examples != nil:
		e := fs.Examples
		fmt.Fprintf(w, "  %d examples, %d without a response\n", e.Examples, e.NoResponse)
		header()
		row("prompt", e.Prompt)
		row("response", e.Response)
	case fs.Text != nil:
		t := fs.Text
		fmt.Fprintf(w, "  %d documents, %d words, %.1f MiB\n", t.Documents, t.Words, float64(t.Bytes)/(1<<20))
		header()
		row("document", t.DocWords)
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newDataDegenerateCmd() *cobra.Command {
	var (
		out   string
		kinds string
		seed  uint64
		limit int
	)
	cmd := &cobra.Command{
		Use:   "degenerate -o OUT FILE",
		Short: "Pair fluent texts with degenerate versions of them (to train and test a control reward)",
		Long: `Write a preference file whose chosen responses are fluent texts of FILE and
whose rejected responses are degenerate versions of them, the shapes a policy
writes when it hacks a reward model: stutter (words repeated in place), loop
(a short window of words repeated to a longer length), babble (the text's own
words at random), salad (the words shuffled) and theme (one or two of the
text's content words over and over, joined by function words). A control reward model
trained with such pairs beside its task's labels ranks degenerate text low;
one tested on them shows whether it can see reward hacking at all.

FILE is a preference file (its originally preferred response, degraded after
the prompt; prompt-less pairs such as ETHICS scenarios give one of their two
texts, whose first words are kept as the prompt a policy would continue) or
prompt/completion JSONL (the completion degraded; e.g. policy samples). Kinds
are taken in turn; texts under 4 words are skipped. The same --seed gives the
same file.`,
		Example: `  warm data degenerate -o runs/ethics/policy/degenerate.jsonl --kinds stutter,loop,babble runs/ethics/data/train.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("data degenerate: -o OUT is required")
			}
			ks, err := data.ParseDegenerations(kinds)
			if err != nil {
				return fmt.Errorf("data degenerate: --kinds: %w", err)
			}
			in, err := loadFluentTexts(args[0])
			if err != nil {
				return fmt.Errorf("data degenerate: %w", err)
			}
			if limit > 0 && len(in) > limit {
				in = in[:limit]
			}
			pairs, err := data.DegeneratePairs(in, ks, seed)
			if err != nil {
				return fmt.Errorf("data degenerate: %w", err)
			}
			if len(pairs) == 0 {
				return fmt.Errorf("data degenerate: %s: no text of 4 words or more", args[0])
			}
			if err := data.WriteTRL(out, pairs); err != nil {
				return fmt.Errorf("data degenerate: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d pairs (fluent, degenerate) from %d records of %s\n", out, len(pairs), len(in), args[0])
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", "", "preference JSONL to write")
	fs.StringVar(&kinds, "kinds", "stutter,loop,babble,salad", "degenerations, taken in turn: stutter, loop, babble, salad, theme")
	fs.Uint64Var(&seed, "seed", 1, "seed of the degenerations")
	fs.IntVar(&limit, "max", 0, "use the first N records (0: all)")
	return cmd
}

// loadFluentTexts reads a preference file as pairs, or a prompt/completion
// file as pairs whose two responses are the completion.
func loadFluentTexts(path string) ([]data.Pair, error) {
	f, err := data.DetectFormat(path)
	if err != nil {
		return nil, err
	}
	if f == data.FormatExamplesJSONL {
		ex, _, err := data.LoadExamples(path, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		pairs := make([]data.Pair, 0, len(ex))
		for _, e := range ex {
			if e.Response == "" {
				continue
			}
			pairs = append(pairs, data.Pair{ID: e.ID, Prompt: e.Prompt, Chosen: e.Response, Rejected: e.Response, Source: e.Source})
		}
		return pairs, nil
	}
	pairs, _, err := data.LoadPairs(path, data.LoadOptions{})
	return pairs, err
}
