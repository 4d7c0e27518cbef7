package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/tokenizer"
)

func init() {
	rootCmd.AddCommand(newTokenizerCmd())
}

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokenizer",
		Short: "Train a byte-level BPE tokenizer, encode and decode text",
	}
	cmd.AddCommand(newTokenizerTrainCmd(), newTokenizerEncodeCmd())
	return cmd
}

func newTokenizerTrainCmd() *cobra.Command {
	var (
		vocabSize, minFreq int
		out                string
	)
	cmd := &cobra.Command{
		Use:   "train [flags] FILE...",
		Short: "Train a byte-level BPE tokenizer on text files (one document per line)",
		Long: `Train learns a GPT-2-style byte-level BPE tokenizer from text files holding
one document per line, and writes it as a Hugging Face tokenizer.json.
Ids 0-255 are the bytes, 256 is <|endoftext|>, 257 is <|pad|>, and merged
tokens follow. The same files give the same file, byte for byte.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			start := time.Now()
			stderr := cmd.ErrOrStderr()
			last := map[string]int64{}
			cfg := tokenizer.TrainConfig{
				VocabSize:    vocabSize,
				MinFrequency: minFreq,
				Progress: func(p tokenizer.Progress) {
					if p.Total <= 0 {
						return
					}
					pct := 100 * p.Done / p.Total
					if pct/10 == last[p.Stage] && p.Done != p.Total {
						return
					}
					last[p.Stage] = pct / 10
					if p.Stage == "count" {
						fmt.Fprintf(stderr, "counting words: %3d%% (%.1f of %.1f MB) %s\n", pct, float64(p.Done)/1e6, float64(p.Total)/1e6, since(start))
					} else {
						fmt.Fprintf(stderr, "merging: %3d%% (%d of %d merges) %s\n", pct, p.Done, p.Total, since(start))
					}
				},
			}
			tk, err := tokenizer.TrainFiles(cmd.Context(), args, cfg)
			if err != nil {
				return err
			}
			if err := tk.Save(out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d tokens (%d merges), eos %d, pad %d, fingerprint %s, in %s\n",
				out, tk.VocabSize(), len(tk.Merges()), tk.EOS(), tk.Pad(), tk.Fingerprint()[:16], since(start))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&vocabSize, "vocab-size", tokenizer.DefaultVocabSize, "total vocabulary size, with the 256 bytes and 2 special tokens")
	f.IntVar(&minFreq, "min-frequency", 0, "merge only pairs seen at least this often")
	f.StringVarP(&out, "output", "o", "tokenizer.json", "where to write the tokenizer")
	return cmd
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }

func newTokenizerEncodeCmd() *cobra.Command {
	var (
		path             string
		decode, ordinary bool
	)
	cmd := &cobra.Command{
		Use:   "encode [flags] [TEXT...]",
		Short: "Print the token ids of text (or, with --decode, the text of ids)",
		Long: `Encode prints the token ids of its arguments (joined by spaces) or, with no
arguments, of standard input taken whole, on one line. With --decode it reads
ids (from the arguments or standard input, separated by white space) and
writes the exact bytes they stand for, adding nothing.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			tk, err := tokenizer.Load(path)
			if err != nil {
				return err
			}
			var text string
			if len(args) > 0 {
				text = strings.Join(args, " ")
			} else {
				b, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read standard input: %w", err)
				}
				text = string(b)
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			if decode {
				fields := strings.Fields(text)
				ids := make([]int, len(fields))
				for i, f := range fields {
					if ids[i], err = strconv.Atoi(f); err != nil {
						return fmt.Errorf("id %d %q is not an integer", i+1, f)
					}
				}
				s, err := tk.Decode(ids)
				if err != nil {
					return err
				}
				w.WriteString(s)
				return w.Flush()
			}
			var ids []int
			if ordinary {
				ids = tk.EncodeOrdinary(text)
			} else {
				ids = tk.Encode(text)
			}
			for i, id := range ids {
				if i > 0 {
					w.WriteByte(' ')
				}
				w.WriteString(strconv.Itoa(id))
			}
			w.WriteByte('\n')
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "tokenizer", "t", "tokenizer.json", "tokenizer.json to use")
	f.BoolVarP(&decode, "decode", "d", false, "decode ids to text instead")
	f.BoolVar(&ordinary, "ordinary", false, "encode special-token strings such as <|endoftext|> as plain text")
	return cmd
}
