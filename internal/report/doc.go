package report

import (
	"fmt"
	"html/template"
	"path/filepath"
	"sort"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// Table is a header and rows of cells (plain text; in Markdown a "|" in a
// cell is escaped, in HTML everything is).
type Table struct {
	// Caption is a sentence placed before the table ("" for none).
	Caption string
	Head    []string
	Rows    [][]string
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Markdown renders the table (without its caption) as a GitHub-flavoured
// Markdown pipe table.
func (t Table) Markdown() string {
	var b strings.Builder
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
	row(t.Head)
	b.WriteString("|")
	for range t.Head {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		row(r)
	}
	return b.String()
}

// HTML renders the table (without its caption) as an HTML table.
func (t Table) HTML() template.HTML {
	var b strings.Builder
	b.WriteString("<table><tr>")
	for _, h := range t.Head {
		b.WriteString("<th>" + template.HTMLEscapeString(h) + "</th>")
	}
	b.WriteString("</tr>\n")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for _, c := range r {
			b.WriteString("<td>" + template.HTMLEscapeString(c) + "</td>")
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>")
	return template.HTML(b.String()) // every cell escaped above
}

// Section is a titled part of a document: paragraphs, then tables, then
// figures.
type Section struct {
	Title string
	// Text holds paragraphs; `code` spans are the only inline markup.
	Text    []string
	Tables  []Table
	Figures []Figure
}

// Doc is a report: a title, the verdict (a few sentences computed from the
// results: what a reader looks for first), the headline figure, an
// introduction (provenance, notes), then the sections with the long
// tables and the other figures.
type Doc struct {
	Title    string
	Verdict  []string
	Headline *Figure
	Intro    []string
	Sections []Section
	// Footer is a last paragraph ("" for none).
	Footer string
}

// Figures returns every figure of the document, the headline first.
func (d *Doc) Figures() []Figure {
	var out []Figure
	if d.Headline != nil {
		out = append(out, *d.Headline)
	}
	for _, s := range d.Sections {
		out = append(out, s.Figures...)
	}
	return out
}

// Markdown renders the document; figures are linked as Name.png.
func (d *Doc) Markdown() string {
	var b strings.Builder
	if d.Title != "" {
		fmt.Fprintf(&b, "# %s\n\n", d.Title)
	}
	if len(d.Verdict) > 0 {
		b.WriteString("**Verdict.**\n\n")
		for _, v := range d.Verdict {
			b.WriteString("- " + v + "\n")
		}
		b.WriteString("\n")
	}
	if d.Headline != nil {
		fmt.Fprintf(&b, "![%s](%s.png)\n\n", d.Headline.Title, d.Headline.Name)
	}
	for _, p := range d.Intro {
		b.WriteString(p + "\n\n")
	}
	for _, s := range d.Sections {
		if s.Title != "" {
			fmt.Fprintf(&b, "## %s\n\n", s.Title)
		}
		for _, p := range s.Text {
			b.WriteString(p + "\n\n")
		}
		for _, t := range s.Tables {
			if t.Caption != "" {
				b.WriteString(t.Caption + "\n\n")
			}
			b.WriteString(t.Markdown() + "\n")
		}
		for _, f := range s.Figures {
			fmt.Fprintf(&b, "![%s](%s.png)\n\n", f.Title, f.Name)
		}
	}
	if d.Footer != "" {
		b.WriteString(d.Footer + "\n")
	}
	return b.String()
}

// inline escapes s for HTML and renders its `code` spans.
func inline(s string) template.HTML {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i, p := range parts {
		e := template.HTMLEscapeString(p)
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<code>" + e + "</code>")
			continue
		}
		if i%2 == 1 { // an unpaired backtick
			b.WriteString("`")
		}
		b.WriteString(e)
	}
	return template.HTML(b.String()) // escaped above
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"inline": inline}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{background:#f3f3f3;padding:0 .2rem}
.verdict{border-left:4px solid #1f77b4;background:#f5f9fc;padding:.5rem 1rem;margin:1rem 0}
.verdict p{margin:.3rem 0}
.figs{display:flex;flex-wrap:wrap;gap:1rem} figure{margin:0}
</style></head><body>
{{if .Title}}<h1>{{.Title}}</h1>{{end}}
{{if .Verdict}}<div class="verdict">{{range .Verdict}}<p>{{inline .}}</p>{{end}}</div>{{end}}
{{with .Headline}}<figure class="headline">{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>{{end}}
{{range .Intro}}<p>{{inline .}}</p>
{{end}}{{range .Sections}}{{if .Title}}<h2>{{.Title}}</h2>{{end}}
{{range .Text}}<p>{{inline .}}</p>{{end}}
{{range .Tables}}{{if .Caption}}<p>{{inline .Caption}}</p>{{end}}{{.HTML}}
{{end}}{{if .Figs}}<div class="figs">{{range .Figs}}<figure>{{.SVG}}<figcaption>{{.Title}}</figcaption></figure>{{end}}</div>{{end}}
{{end}}{{if .Footer}}<p>{{inline .Footer}}</p>{{end}}
</body></html>
`))

type htmlFig struct {
	Title string
	SVG   template.HTML
}

type htmlTable struct {
	Caption string
	HTML    template.HTML
}

type htmlSection struct {
	Title  string
	Text   []string
	Tables []htmlTable
	Figs   []htmlFig
}

// svgs holds rendered figures by name.
type svgs map[string][]byte

func (s svgs) fig(f Figure) htmlFig {
	svg := string(s[f.Name])
	if i := strings.Index(svg, "<svg"); i > 0 {
		svg = svg[i:] // drop the XML prolog inside HTML
	}
	return htmlFig{Title: f.Title, SVG: template.HTML(svg)} // drawn by gonum/plot, labels escaped by it
}

func (d *Doc) html(rendered svgs) ([]byte, error) {
	data := struct {
		Title    string
		Verdict  []string
		Headline *htmlFig
		Intro    []string
		Sections []htmlSection
		Footer   string
	}{Title: d.Title, Verdict: d.Verdict, Intro: d.Intro, Footer: d.Footer}
	if d.Headline != nil {
		h := rendered.fig(*d.Headline)
		data.Headline = &h
	}
	for _, s := range d.Sections {
		hs := htmlSection{Title: s.Title, Text: s.Text}
		for _, t := range s.Tables {
			hs.Tables = append(hs.Tables, htmlTable{Caption: t.Caption, HTML: t.HTML()})
		}
		for _, f := range s.Figures {
			hs.Figs = append(hs.Figs, rendered.fig(f))
		}
		data.Sections = append(data.Sections, hs)
	}
	var b strings.Builder
	if err := page.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("report %q: html: %w", d.Title, err)
	}
	return []byte(b.String()), nil
}

// HTML renders the document as one self-contained page, the figures inline
// as SVG.
func (d *Doc) HTML() ([]byte, error) {
	rendered := svgs{}
	for _, f := range d.Figures() {
		svg, _, err := f.Render()
		if err != nil {
			return nil, err
		}
		rendered[f.Name] = svg
	}
	return d.html(rendered)
}

// Files renders the document as files, by name: stem.md, stem.html and
// every figure as Name.png and Name.svg.
func (d *Doc) Files(stem string) (map[string][]byte, error) {
	files := map[string][]byte{stem + ".md": []byte(d.Markdown())}
	rendered := svgs{}
	for _, f := range d.Figures() {
		svg, png, err := f.Render()
		if err != nil {
			return nil, err
		}
		if _, dup := rendered[f.Name]; dup {
			return nil, fmt.Errorf("report %q: two figures named %s", d.Title, f.Name)
		}
		rendered[f.Name] = svg
		files[f.Name+".svg"], files[f.Name+".png"] = svg, png
	}
	page, err := d.html(rendered)
	if err != nil {
		return nil, err
	}
	files[stem+".html"] = page
	return files, nil
}

// WriteFiles writes files (by name, in sorted order) into dir, each
// atomically: a reader sees a file's old content or its new one.
func WriteFiles(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := atomicdir.WriteFile(filepath.Join(dir, n), files[n]); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}
