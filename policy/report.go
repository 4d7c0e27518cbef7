package policy

import (
	"fmt"
	"strings"

	"github.com/warm-rm/warm/internal/report"
)

// RunsMarkdown renders a win-rate table over RL steps.
func RunsMarkdown(t *RunsTable, nameA, nameB string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Win rate of %s against %s at matched steps: %d prompts × %d samples, control reward %s, ties split (± SE over prompts).\n\n", nameA, nameB, t.Prompts, t.Samples, t.Control)
	tb := report.Table{Head: []string{"step", "win rate", "ties", "control A", "control B", "repetition A", "repetition B"}}
	sft := len(t.Rows) > 0 && t.Rows[0].AvsSFT != nil
	if sft {
		tb.Head = append(tb.Head, "A vs SFT", "B vs SFT")
	}
	for _, r := range t.Rows {
		row := []string{fmt.Sprint(r.Step), fmt.Sprintf("%.3f ± %.3f", r.AvsB.Rate, r.AvsB.SE), fmt.Sprintf("%.2f", r.AvsB.Ties),
			fmt.Sprintf("%.4f", r.AvsB.ControlA), fmt.Sprintf("%.4f", r.AvsB.ControlB),
			fmt.Sprintf("%.3f", r.AvsB.RepetitionA), fmt.Sprintf("%.3f", r.AvsB.RepetitionB)}
		if sft {
			row = append(row, fmt.Sprintf("%.3f ± %.3f", r.AvsSFT.Rate, r.AvsSFT.SE), fmt.Sprintf("%.3f ± %.3f", r.BvsSFT.Rate, r.BvsSFT.SE))
		}
		tb.Rows = append(tb.Rows, row)
	}
	b.WriteString(tb.Markdown())
	if sft {
		fmt.Fprintf(&b, "\nRepetition is the share of a response's content words that repeat an earlier one (no model involved); the SFT policy's samples: %.3f.\n", t.Rows[0].AvsSFT.RepetitionB)
	} else {
		b.WriteString("\nRepetition is the share of a response's content words that repeat an earlier one (no model involved).\n")
	}
	return b.String()
}

func fmtOpt(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", *v)
}
