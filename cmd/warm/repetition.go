package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
)

// repetitionRow is one file's model-free repetition measures.
type repetitionRow struct {
	File      string  `json:"file"`
	Responses int     `json:"responses"`
	Words     float64 `json:"word_repetition"`
	WordsSE   float64 `json:"word_repetition_se"`
	Stems     float64 `json:"stem_repetition"`
	StemsSE   float64 `json:"stem_repetition_se"`
}

func newDataRepetitionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "repetition FILE...",
		Short: "How much of each response repeats a word or a word's stem (no model)",
		Long: `Read JSON lines with a "response" string (warm generate --json, or - for
standard input) and print, per file, the mean over responses of the share of
content words that repeat an earlier one of the same response
(data.Repetition, what RL's evaluations record as repetition and
--repetition-penalty counts) and the same with words compared by their
first five letters (data.StemRepetition), each with its standard error. The
SFT policy's samples are the reference: fluent text repeats a little too.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rows []repetitionRow
			for _, path := range args {
				r, err := repetitionOf(cmd, path)
				if err != nil {
					return err
				}
				rows = append(rows, r)
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "file\tresponses\twords\t±se\tstems\t±se")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", r.File, r.Responses, r.Words, r.WordsSE, r.Stems, r.StemsSE)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the measures as JSON")
	return cmd
}

// repetitionOf measures one file of JSON lines ("-": standard input).
func repetitionOf(cmd *cobra.Command, path string) (repetitionRow, error) {
	in := cmd.InOrStdin()
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return repetitionRow{}, fmt.Errorf("repetition: %w", err)
		}
		defer f.Close()
		in = f
	}
	var words, stems []float64
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec struct {
			Response *string `json:"response"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return repetitionRow{}, fmt.Errorf("repetition: %s:%d: invalid JSON: %w", path, line, err)
		}
		if rec.Response == nil {
			return repetitionRow{}, fmt.Errorf("repetition: %s:%d: no \"response\" string", path, line)
		}
		words = append(words, data.Repetition(*rec.Response))
		stems = append(stems, data.StemRepetition(*rec.Response))
	}
	if err := sc.Err(); err != nil {
		return repetitionRow{}, fmt.Errorf("repetition: %s: %w", path, err)
	}
	if len(words) == 0 {
		return repetitionRow{}, fmt.Errorf("repetition: %s has no responses", path)
	}
	r := repetitionRow{File: path, Responses: len(words)}
	r.Words, r.WordsSE = eval.MeanStdErr(words)
	r.Stems, r.StemsSE = eval.MeanStdErr(stems)
	return r, nil
}
