package experiment

import (
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
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
// contained: figures inline as SVG), results.json and one PNG per figure.
func WriteReport(dir string, info ReportInfo, r *Results, replace bool) error {
	rep := Report{Info: info, Observations: Observe(r), Results: r}
	figs, err := figures(r)
	if err != nil {
		return err
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	md := markdown(rep, figs)
	page, err := htmlPage(rep, figs)
	if err != nil {
		return err
	}
	return atomicdir.Write(dir, replace, func(tmp string) error {
		files := map[string][]byte{"results.json": append(js, '\n'), "report.md": []byte(md), "report.html": page}
		for _, f := range figs {
			files[f.Name+".png"] = f.PNG
			files[f.Name+".svg"] = f.SVG
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	})
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

func pct(x float64) string { return fmt.Sprintf("%.4f", x) }

// table is a rendered table: a header and rows of cells.
type table struct {
	Head []string
	Rows [][]string
}

func (t table) markdown() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.Head, " | ") + " |\n|")
	for range t.Head {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

func tables(rep Report) (obs, acc, cmp, cost, lmcT table) {
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
				row = append(row, fmt.Sprintf("%s ± %.4f", pct(res.Accuracy), res.StdErr))
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
			ratio = fmt.Sprintf("%.1f", abs(c.Diff)/c.StdErr)
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
		lmcT.Rows = append(lmcT.Rows, []string{c.Kind, c.A + " → " + c.B, c.Set, pct(c.WA[0]), pct(c.WA[len(c.WA)-1]), pct(c.WA[h]), pct(c.ENS[h]), pct(c.Diag[h])})
	}
	return
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func markdown(rep Report, figs []figure) string {
	obs, acc, cmp, cost, lmcT := tables(rep)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", rep.Info.Title)
	fmt.Fprintf(&b, "Produced by `%s` on %s (%s); evaluation took %s.\n\n", rep.Info.Command, rep.Results.Date, rep.Info.Machine, rep.Results.Wall)
	for _, n := range rep.Info.Notes {
		b.WriteString(n + "\n\n")
	}
	b.WriteString("## The paper's observations\n\nDifferences are paired per-example differences of correctness with their standard errors.\n\n")
	b.WriteString(obs.markdown())
	fmt.Fprintf(&b, "\n## Accuracy (± binomial standard error)\n\nMembers are ranked on `%s`; WA(M) and ENS(M) use the top M.\n\n", rep.Results.RankSet)
	b.WriteString(acc.markdown())
	b.WriteString("\n## Paired comparisons\n\n")
	b.WriteString(cmp.markdown())
	b.WriteString("\n## Inference cost\n\n")
	b.WriteString(cost.markdown())
	if len(lmcT.Rows) > 0 {
		b.WriteString("\n## Linear mode connectivity\n\n")
		b.WriteString(lmcT.markdown())
	}
	b.WriteString("\n## Figures\n\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "![%s](%s.png)\n\n", f.Title, f.Name)
	}
	b.WriteString("All numbers are in `results.json`.\n")
	return b.String()
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Rep.Info.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{background:#f3f3f3;padding:0 .2rem}
.figs{display:flex;flex-wrap:wrap;gap:1rem} .figs figure{margin:0}
</style></head><body>
<h1>{{.Rep.Info.Title}}</h1>
<p>Produced by <code>{{.Rep.Info.Command}}</code> on {{.Rep.Results.Date}} ({{.Rep.Info.Machine}}); evaluation took {{.Rep.Results.Wall}}.</p>
{{range .Rep.Info.Notes}}<p>{{.}}</p>{{end}}
{{range .Tables}}<h2>{{.Title}}</h2>{{if .Text}}<p>{{.Text}}</p>{{end}}
<table><tr>{{range .T.Head}}<th>{{.}}</th>{{end}}</tr>
{{range .T.Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
<h2>Figures</h2><div class="figs">{{range .Figs}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>{{end}}</div>
<p>All numbers are in <code>results.json</code>.</p>
</body></html>
`))

func htmlPage(rep Report, figs []figure) ([]byte, error) {
	obs, acc, cmp, cost, lmcT := tables(rep)
	type tbl struct {
		Title, Text string
		T           table
	}
	type fig struct {
		Title string
		SVG   template.HTML
	}
	ts := []tbl{
		{"The paper's observations", "Differences are paired per-example differences of correctness with their standard errors.", obs},
		{"Accuracy (± binomial standard error)", "Members are ranked on " + rep.Results.RankSet + "; WA(M) and ENS(M) use the top M.", acc},
		{"Paired comparisons", "", cmp},
		{"Inference cost", "", cost},
	}
	if len(lmcT.Rows) > 0 {
		ts = append(ts, tbl{"Linear mode connectivity", "", lmcT})
	}
	var fs []fig
	for _, f := range figs {
		svg := string(f.SVG)
		if i := strings.Index(svg, "<svg"); i > 0 {
			svg = svg[i:] // drop the XML prolog inside HTML
		}
		fs = append(fs, fig{f.Title, template.HTML(svg)}) // generated by gonum/plot, not user input
	}
	var b strings.Builder
	if err := page.Execute(&b, map[string]any{"Rep": rep, "Tables": ts, "Figs": fs}); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
