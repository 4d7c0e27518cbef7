package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
)

func init() { rootCmd.AddCommand(newGenerateCmd()) }

func newGenerateCmd() *cobra.Command {
	var (
		modelPath, promptsFile string
		prompts, stops         []string
		n                      int
		asJSON                 bool
		cfg                    = sample.DefaultConfig()
	)
	cmd := &cobra.Command{
		Use:   "generate --model CKPT (--prompt TEXT... | --prompts FILE)",
		Short: "Sample responses from a language-model checkpoint",
		Long: `Sample responses from a checkpoint with temperature, top-k and top-p, batched,
using the KV cache. A response ends at EOS, at --max-tokens, or when it ends
with a --stop text (matched on its tokens, kept in the output). The same --seed gives the same samples whatever --batch is.
--prompts reads prompt JSONL ({"prompt": ...} a line). Output is text, or JSON
lines with --json.`,
		Example: `  warm generate --model runs/sft --prompt "the boat was sold by mara. TL;DR:" --n 4`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelPath == "" {
				return errors.New("generate: --model CKPT is required")
			}
			lm, err := checkpoint.LoadLM(modelPath)
			if err != nil {
				return err
			}
			if lm.Tok == nil {
				return fmt.Errorf("generate: %s has no tokenizer.json", modelPath)
			}
			if lm.EOS < 0 {
				return fmt.Errorf("generate: %s names no end-of-sequence token (eos_token_id in config.json)", modelPath)
			}
			tok := lm.Tok
			texts := append([]string(nil), prompts...)
			if promptsFile != "" {
				ex, _, err := data.LoadExamples(promptsFile, data.LoadOptions{})
				if err != nil {
					return err
				}
				for _, e := range ex {
					texts = append(texts, e.Prompt)
				}
			}
			if len(texts) == 0 {
				return errors.New("generate: give --prompt or --prompts")
			}
			for _, st := range stops {
				ids := tok.Encode(st)
				if len(ids) == 0 {
					return errors.New("generate: --stop text is empty")
				}
				seq := make([]int32, len(ids))
				for j, id := range ids {
					seq[j] = int32(id)
				}
				cfg.Stop = append(cfg.Stop, seq)
			}
			// Further end-of-sequence ids end a response too.
			for _, id := range lm.OtherEOS {
				cfg.Stop = append(cfg.Stop, []int32{int32(id)})
			}
			reqs := make([]sample.Request, len(texts))
			for i, t := range texts {
				p, err := lm.EncodePrompt(t)
				if err != nil {
					return err
				}
				reqs[i] = sample.Request{Prompt: p, N: n}
			}
			t0 := time.Now()
			outs, err := sample.Generate(cmd.Context(), lm.Model, reqs, lm.EOS, cfg)
			if err != nil {
				return err
			}
			wall := time.Since(t0)
			w := bufio.NewWriter(os.Stdout)
			defer w.Flush()
			tokens := 0
			for _, o := range outs {
				ids := make([]int, 0, len(o.Tokens))
				for _, t := range o.Tokens {
					if o.Stopped && int(t) == lm.EOS {
						continue
					}
					ids = append(ids, int(t))
				}
				tokens += len(o.Tokens)
				text, err := policy.DecodeResponse(tok, ids)
				if err != nil {
					return err
				}
				if asJSON {
					b, _ := json.Marshal(map[string]any{"prompt_index": o.Prompt, "sample": o.Sample, "prompt": texts[o.Prompt], "response": text, "stopped": o.Stopped, "stop": o.StopSeq, "tokens": len(o.Tokens)})
					fmt.Fprintf(w, "%s\n", b)
				} else {
					fmt.Fprintf(w, "[%d.%d] %s%s\n", o.Prompt, o.Sample, texts[o.Prompt], text)
				}
			}
			fmt.Fprintf(os.Stderr, "%d samples, %d tokens in %s (%.0f tokens/s)\n", len(outs), tokens, wall.Round(time.Millisecond), float64(tokens)/wall.Seconds())
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&modelPath, "model", "", "checkpoint to sample from")
	fs.StringArrayVar(&prompts, "prompt", nil, "prompt text (repeatable)")
	fs.StringVar(&promptsFile, "prompts", "", "prompt JSONL file")
	fs.IntVar(&n, "n", 1, "samples per prompt")
	fs.Float64Var(&cfg.Temperature, "temperature", cfg.Temperature, "sampling temperature (0: greedy)")
	fs.IntVar(&cfg.TopK, "top-k", 0, "keep the K most likely tokens (0: all)")
	fs.Float64Var(&cfg.TopP, "top-p", 0, "nucleus sampling mass (0: off)")
	fs.IntVar(&cfg.MaxTokens, "max-tokens", cfg.MaxTokens, "maximum response tokens")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "sampling seed")
	fs.IntVar(&cfg.BatchSize, "batch", cfg.BatchSize, "sequences decoded together")
	fs.StringArrayVar(&stops, "stop", nil, "stop text: end a response when it ends with this text's tokens (repeatable; EOS always stops)")
	fs.BoolVar(&cfg.NoCache, "no-cache", false, "recompute every position at each step (to measure the KV cache)")
	fs.BoolVar(&asJSON, "json", false, "print JSON lines")
	return cmd
}
