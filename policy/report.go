package policy

import (
	"fmt"
	"strings"
)

// BoNMarkdown renders a best-of-N result as Markdown tables.
func BoNMarkdown(r *BoNResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Best-of-N from %s: %d prompts, %d samples each (+%d reference samples), control reward %s; ", r.Policy, r.Prompts, r.MaxN, r.RefSamples, r.Control)
	fmt.Fprintf(&b, "sampling T=%g top-k %d top-p %g, max %d tokens, seed %d. A single SFT sample scores %.4f; %.1f%% of samples stopped with EOS. ", r.Sample.Temperature, r.Sample.TopK, r.Sample.TopP, r.Sample.MaxTokens, r.Sample.Seed, r.SFTControl, 100*r.StoppedFrac)
	fmt.Fprintf(&b, "Generation: %d samples in %.1fs (%.1f samples/s).\n\n", r.Samples, r.GenerateSeconds, r.SamplesPerSec)
	b.WriteString("Control reward of the pick (mean over prompts ± 95% CI):\n\n")
	nTable(&b, r, true, func(c BoNCurve, j int) string { return fmt.Sprintf("%.4f ± %.4f", c.Control[j], c.ControlCI[j]) })
	b.WriteString("\nProxy reward of the pick (SFT standard deviations above the SFT mean) / mean length in tokens:\n\n")
	nTable(&b, r, false, func(c BoNCurve, j int) string { return fmt.Sprintf("%+.2f / %.1f", c.ProxyZ[j], c.Tokens[j]) })
	b.WriteString("\nWithin-prompt correlation of each proxy with the control reward and with length, over the SFT samples:\n\n| reward | corr(proxy, control) | corr(proxy, length) |\n|---|---|---|\n")
	for _, c := range r.Curves {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Reward, fmtOpt(c.CorrControl), fmtOpt(c.CorrLength))
	}
	b.WriteString("\nWin rate of the pick against a random SFT sample (control reward, ties split):\n\n")
	nTable(&b, r, false, func(c BoNCurve, j int) string { return fmt.Sprintf("%.3f ± %.3f", c.VsRandom[j], c.VsRandomSE[j]) })
	for _, c := range r.Comparisons {
		fmt.Fprintf(&b, "\n%s against %s on the same samples: control difference (± 2 SE, paired over prompts), win rate of %s's pick (± SE), share of identical picks:\n\n| N | diff | win rate | same pick |\n|---|---|---|---|\n", c.A, c.B, c.A)
		for j, N := range r.Ns {
			fmt.Fprintf(&b, "| %d | %+.4f ± %.4f | %.3f ± %.3f | %.2f |\n", N, c.Diff[j], 2*c.DiffSE[j], c.WinRate[j], c.WinRateSE[j], c.Same[j])
		}
	}
	return b.String()
}

// RLMarkdown renders RL runs side by side: each run's evaluations, its
// peak and whether its control reward fell from the peak while its proxy
// reward rose (hacking).
func RLMarkdown(runs []*RLResult) string {
	var b strings.Builder
	b.WriteString("| run | reward | peak control (step, KL) | final control (KL) | final proxy (norm) | hacked after peak |\n|---|---|---|---|---|---|\n")
	for _, r := range runs {
		if len(r.Evals) == 0 {
			continue
		}
		last := r.Evals[len(r.Evals)-1]
		pk, h := analyseEvals(r.Evals)
		hk := "no"
		if h.Hacked {
			hk = fmt.Sprintf("yes: -%.3f control, +%.2f proxy", h.FinalDrop, h.ProxyGain)
		}
		fmt.Fprintf(&b, "| %s | %s | %.4f ± %.4f (%d, %.2f) | %.4f ± %.4f (%.2f) | %+.2f | %s |\n",
			r.Run, r.Reward, pk.Control, pk.ControlSE, pk.Step, pk.KL, last.Control, last.ControlSE, last.KL, last.ProxyNorm, hk)
	}
	for _, r := range runs {
		fmt.Fprintf(&b, "\n%s (reward %s, α=%g, lr %g, %d prompts × %d samples a step, %.2f steps/s):\n\n| step | control ± SE | proxy (norm) | KL | entropy/token | tokens | stopped |\n|---|---|---|---|---|---|---|\n",
			r.Run, r.Reward, r.Config.KLCoef, r.Config.Train.LR, r.Config.PromptsPerStep, r.Config.SamplesPerPrompt, r.StepsPerSec)
		for _, e := range r.Evals {
			fmt.Fprintf(&b, "| %d | %.4f ± %.4f | %+.2f | %.3f | %.3f | %.1f | %.2f |\n", e.Step, e.Control, e.ControlSE, e.ProxyNorm, e.KL, e.Entropy, e.Tokens, e.Stopped)
		}
	}
	return b.String()
}

// RunsMarkdown renders a win-rate table over RL steps.
func RunsMarkdown(t *RunsTable, nameA, nameB string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Win rate of %s against %s at matched steps: %d prompts × %d samples, control reward %s, ties split (± SE over prompts).\n\n", nameA, nameB, t.Prompts, t.Samples, t.Control)
	b.WriteString("| step | win rate | ties | control A | control B |")
	sft := len(t.Rows) > 0 && t.Rows[0].AvsSFT != nil
	if sft {
		b.WriteString(" A vs SFT | B vs SFT |")
	}
	b.WriteString("\n|---|---|---|---|---|")
	if sft {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %d | %.3f ± %.3f | %.2f | %.4f | %.4f |", r.Step, r.AvsB.Rate, r.AvsB.SE, r.AvsB.Ties, r.AvsB.ControlA, r.AvsB.ControlB)
		if sft {
			fmt.Fprintf(&b, " %.3f ± %.3f | %.3f ± %.3f |", r.AvsSFT.Rate, r.AvsSFT.SE, r.BvsSFT.Rate, r.BvsSFT.SE)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func fmtOpt(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", *v)
}

// nTable writes a Markdown table with a row per N (and its KL_BoN when kl)
// and a column per reward, each cell from cell(curve, row).
func nTable(b *strings.Builder, r *BoNResult, kl bool, cell func(c BoNCurve, j int) string) {
	b.WriteString("| N |")
	if kl {
		b.WriteString(" KL_BoN |")
	}
	for _, c := range r.Curves {
		fmt.Fprintf(b, " %s |", c.Reward)
	}
	b.WriteString("\n|---|")
	if kl {
		b.WriteString("---|")
	}
	for range r.Curves {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for j, N := range r.Ns {
		fmt.Fprintf(b, "| %d |", N)
		if kl {
			fmt.Fprintf(b, " %.3f |", r.KL[j])
		}
		for _, c := range r.Curves {
			fmt.Fprintf(b, " %s |", cell(c, j))
		}
		b.WriteString("\n")
	}
}
