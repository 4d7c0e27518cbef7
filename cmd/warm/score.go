package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/scorer"
)

func init() { rootCmd.AddCommand(newScoreCmd()) }

func newScoreCmd() *cobra.Command {
	var (
		modelDir, out string
		batch         int
		peakRSS       bool
	)
	cmd := &cobra.Command{
		Use:   "score --model CKPT FILE.jsonl",
		Short: "The reward of every record of a JSONL file, in order",
		Long: `Score every record of a JSONL file ("-" reads standard input) with a reward
model of any family warm runs (GPT-2, Llama, Mistral, Qwen2, Qwen3, Gemma2)
and print {"reward": R} a line, in order. Records are one of:

  {"text": "..."}                         the whole sequence
  {"prompt": "...", "response": "..."}    a prompt and its response
  {"messages": [{"role": ..., "content": ...}, ...]}
                                          a conversation, through the chat template
  {"input_ids": [1, 2, ...]}              token ids, scored as given (needs no
                                          tokenizer files: config.json and the
                                          weights suffice)

Other keys are ignored. Every record is checked before any is scored: a bad
line, or a sequence longer than the model's positions, is an error naming the
line, and nothing is written.

--model fluency:DIR scores by a language model's likelihood instead (no
reward model): each record's reward is the mean log-probability per response
token, EOS included, in nats (warm eval's fluency judge); it reads
{"prompt", "response"} records, and {"text"} as a response to an empty
prompt.`,
		Example: `  warm score --model runs/rm pairs.jsonl
  echo '{"input_ids": [1, 450, 4996]}' | warm score --model ./Qwen2-0.5B-Reward -
  warm score --model fluency:runs/ethics/control/base samples.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if modelDir == "" {
				return errors.New("score: --model CKPT is required")
			}
			if batch < 1 {
				return fmt.Errorf("score: --batch %d must be at least 1", batch)
			}
			records, err := scorer.ReadRecords(args[0])
			if err != nil {
				return err
			}
			if peakRSS {
				defer printPeakRSS()
			}
			if lmDir, ok := strings.CutPrefix(modelDir, "fluency:"); ok {
				return scoreFluency(cmd.Context(), lmDir, records, batch, out)
			}
			t0 := time.Now()
			s, err := scorer.Load(modelDir)
			if err != nil {
				return err
			}
			s.PackForInference()
			loaded := time.Now()
			seqs := make([][]int32, len(records))
			tokens := 0
			for i, r := range records {
				if seqs[i], err = s.Encode(r); err != nil {
					return err
				}
				tokens += len(seqs[i])
			}
			t1 := time.Now()
			rewards, err := s.Rewards(cmd.Context(), seqs, batch)
			if err != nil {
				return err
			}
			secs := time.Since(t1).Seconds()
			stderrLog.Info("scored", "records", len(records), "tokens", tokens, "load_s", fmt.Sprintf("%.2f", loaded.Sub(t0).Seconds()),
				"encode_s", fmt.Sprintf("%.3f", t1.Sub(loaded).Seconds()), "forward_s", fmt.Sprintf("%.3f", secs), "tokens_per_s", fmt.Sprintf("%.1f", float64(tokens)/secs))
			r64 := make([]float64, len(rewards))
			for i, r := range rewards {
				r64[i] = float64(r)
			}
			return writeRewards(r64, 32, out)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&modelDir, "model", "", "reward-model checkpoint directory, or fluency:DIR for a language model's mean log-probability per response token")
	fs.StringVarP(&out, "output", "o", "", "write the rewards to this file (atomically) instead of standard output")
	fs.IntVar(&batch, "batch", 8, "records per forward pass")
	// For bench/llama_compare.sh.
	fs.BoolVar(&peakRSS, "report-peak-rss", false, "print peak_rss_kib=N (VmHWM) to stderr at the end")
	fs.MarkHidden("report-peak-rss")
	return cmd
}

// scoreFluency is warm score --model fluency:DIR.
func scoreFluency(ctx context.Context, dir string, records []scorer.Record, batch int, out string) error {
	f, err := scorer.LoadFluency(dir)
	if err != nil {
		return err
	}
	f.BatchSize = batch
	t0 := time.Now()
	scores, err := f.ScoreRecords(ctx, records)
	if err != nil {
		return err
	}
	stderrLog.Info("scored", "records", len(records), "judge", "fluency", "forward_s", fmt.Sprintf("%.3f", time.Since(t0).Seconds()))
	return writeRewards(scores, 64, out)
}

// writeRewards prints {"reward": R} a line (the shortest decimal that
// reads back as the same float of the given bits), to out atomically or to
// standard output.
func writeRewards(rewards []float64, bits int, out string) error {
	var buf bytes.Buffer
	for _, r := range rewards {
		buf.WriteString(`{"reward": `)
		buf.WriteString(strconv.FormatFloat(r, 'g', -1, bits))
		buf.WriteString("}\n")
	}
	if out != "" {
		return atomicdir.WriteFile(out, buf.Bytes())
	}
	_, err := os.Stdout.Write(buf.Bytes())
	return err
}
