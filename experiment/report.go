package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
)

// ReportInfo is what the report says about how the results were made.
type ReportInfo struct {
	Title string `json:"title"`
	// Command reproduces the results.
	Command string `json:"command"`
	Machine string `json:"machine"`
	// Notes are free paragraphs (Markdown) placed after the summary.
	Notes []string `json:"notes,omitempty"`
}

// Report is what `warm report` writes: the results, the observations and
// the figures.
type Report struct {
	Info         ReportInfo    `json:"info"`
	Observations []Observation `json:"observations"`
	Results      *Results      `json:"results"`
}

// WriteReport writes dir (atomically) with report.md, report.html (self
// contained: figures inline as SVG), results.json and one PNG and SVG per
// figure. Both reports open on the verdict (Summary) and the headline
// figure (accuracy against M, ID and OOD), then the tables.
func WriteReport(dir string, info ReportInfo, r *Results, replace bool) error {
	rep := Report{Info: info, Observations: Observe(r), Results: r}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	files, err := reportDoc(rep).Files("report")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	files["results.json"] = append(js, '\n')
	return atomicdir.Write(dir, replace, func(tmp string) error { return report.WriteFiles(tmp, files) })
}

// ReadResults reads the results.json of a report directory (or a results
// file).
func ReadResults(path string) (*Report, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "results.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &rep, nil
}

// acc4 formats an accuracy (a fraction) with four decimals.
func acc4(x float64) string { return fmt.Sprintf("%.4f", x) }

func tables(rep Report) (obs, acc, cmp, cost, lmcT report.Table) {
	r := rep.Results
	obs.Head = []string{"", "claim", "verdict", "evidence"}
	for _, o := range rep.Observations {
		obs.Rows = append(obs.Rows, []string{o.ID, o.Claim, string(o.Verdict), o.Evidence})
	}
	acc.Head = []string{"model", "kind", "LR", "dropout", "init", "rank"}
	for _, s := range r.Sets {
		acc.Head = append(acc.Head, fmt.Sprintf("%s (n=%d)", s.Name, s.N))
	}
	info := map[string]MemberInfo{}
	for _, m := range r.Members {
		info[m.Name] = m
	}
	for _, e := range r.Entries {
		row := []string{e.Name, string(e.Kind), "", "", "", ""}
		if m, ok := info[e.Name]; ok {
			row[2], row[3], row[4], row[5] = fmt.Sprintf("%.0e", m.LR), fmt.Sprintf("%.2f", m.Dropout), filepath.Base(m.Init), fmt.Sprint(m.Rank+1)
			if m.Rank < 0 {
				row[1], row[5] = m.Role, "–"
			}
		}
		for _, s := range r.Sets {
			if res, ok := e.Result(s.Name); ok {
				row = append(row, fmt.Sprintf("%s ± %.4f", acc4(res.Accuracy), res.StdErr))
			} else {
				row = append(row, "")
			}
		}
		acc.Rows = append(acc.Rows, row)
	}
	cmp.Head = []string{"A", "B", "set", "A − B", "± se", "diff / se"}
	for _, c := range r.Comparisons {
		ratio := "∞"
		if c.StdErr > 0 {
			ratio = fmt.Sprintf("%.1f", math.Abs(c.Diff)/c.StdErr)
		}
		cmp.Rows = append(cmp.Rows, []string{c.A, c.B, c.Set, fmt.Sprintf("%+.4f", c.Diff), fmt.Sprintf("%.4f", c.StdErr), ratio})
	}
	cost.Head = []string{"model", "M", "ms per 1,000 pairs", "× WA"}
	var waMs float64
	for _, c := range r.Costs {
		if c.Name == "WA" {
			waMs = c.MsPer1000Pairs
		}
	}
	for _, c := range r.Costs {
		rel := ""
		if waMs > 0 {
			rel = fmt.Sprintf("%.2f", c.MsPer1000Pairs/waMs)
		}
		cost.Rows = append(cost.Rows, []string{c.Name, fmt.Sprint(c.M), fmt.Sprintf("%.0f", c.MsPer1000Pairs), rel})
	}
	lmcT.Head = []string{"diversity", "A → B", "set", "acc(A)", "acc(B)", "WA(½)", "ENS(½)", "Diag(½)"}
	for _, c := range r.LMC {
		h := len(c.Lambdas) / 2
		lmcT.Rows = append(lmcT.Rows, []string{c.Kind, c.A + " → " + c.B, c.Set, acc4(c.WA[0]), acc4(c.WA[len(c.WA)-1]), acc4(c.WA[h]), acc4(c.ENS[h]), acc4(c.Diag[h])})
	}
	return
}

// reportDoc lays the report out: verdict, headline figure, provenance and
// notes, then the observations, the tables and the other figures.
// errorCorrelationText says how much the members' errors correlate on each
// set (nothing when it was not measured).
func errorCorrelationText(r *Results) []string {
	if len(r.ErrorCorrelation) == 0 {
		return nil
	}
	parts := make([]string, len(r.ErrorCorrelation))
	for i, e := range r.ErrorCorrelation {
		parts[i] = fmt.Sprintf("%s %.2f", e.Set, e.Mean)
	}
	return []string{"Correlation of the members' errors (mean over member pairs; averaging can remove only the errors members do not share): " + strings.Join(parts, ", ") + "."}
}

func reportDoc(rep Report) *report.Doc {
	r := rep.Results
	obs, acc, cmp, cost, lmcT := tables(rep)
	d := &report.Doc{Title: rep.Info.Title, Verdict: Summary(r), Headline: headline(r),
		Intro:  append([]string{fmt.Sprintf("Produced by `%s` on %s (%s); evaluation took %s.", rep.Info.Command, r.Date, rep.Info.Machine, r.Wall)}, rep.Info.Notes...),
		Footer: "All numbers are in `results.json`."}
	d.Sections = []report.Section{
		{Title: "The paper's observations", Text: []string{"Differences are paired per-example differences of correctness with their standard errors."}, Tables: []report.Table{obs}},
		{Title: "Accuracy (± binomial standard error)", Text: append([]string{fmt.Sprintf("Members are ranked on `%s`; WA(M) and ENS(M) use the top M.", r.RankSet)}, errorCorrelationText(r)...), Tables: []report.Table{acc}},
		{Title: "Paired comparisons", Tables: []report.Table{cmp}},
		{Title: "Inference cost", Tables: []report.Table{cost}},
	}
	if len(lmcT.Rows) > 0 {
		d.Sections = append(d.Sections, report.Section{Title: "Linear mode connectivity", Tables: []report.Table{lmcT}})
	}
	d.Sections = append(d.Sections, report.Section{Title: "Figures", Figures: figures(r)})
	return d
}
