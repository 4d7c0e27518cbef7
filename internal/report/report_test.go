package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableMarkdown(t *testing.T) {
	tb := Table{Head: []string{"model", "acc"}, Rows: [][]string{{"WA(2)", "0.61 ± 0.03"}, {"a|b", ""}}}
	want := "| model | acc |\n| --- | --- |\n| WA(2) | 0.61 ± 0.03 |\n| a\\|b |  |\n"
	if got := tb.Markdown(); got != want {
		t.Errorf("Markdown:\n%q\nwant\n%q", got, want)
	}
}

func TestTableHTML(t *testing.T) {
	tb := Table{Head: []string{"x<y"}, Rows: [][]string{{"<script>"}, {"a & b"}}}
	got := string(tb.HTML())
	want := "<table><tr><th>x&lt;y</th></tr>\n<tr><td>&lt;script&gt;</td></tr>\n<tr><td>a &amp; b</td></tr>\n</table>"
	if got != want {
		t.Errorf("HTML:\n%s\nwant\n%s", got, want)
	}
}

func hex(c color.Color) string {
	r, g, b, _ := c.RGBA()
	return fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
}

func testFigure() Figure {
	return Figure{Name: "f", Title: "two lines", XLabel: "x", YLabel: "y", Series: []Series{
		{Label: "first", X: []float64{0, 1, 2}, Y: []float64{0, 1, 2}, Err: []float64{0.1, 0.1, 0.1}},
		{Label: "second", X: []float64{0, 1, 2}, Y: []float64{2, 1, 0}, Dashed: true},
		{Label: "fifth colour", X: []float64{0, 2}, Y: []float64{1, 1}, Color: 5},
	}}
}

// TestFigureSVGPalette checks the series take the palette's colours: by
// position, or by Color when set.
func TestFigureSVGPalette(t *testing.T) {
	svg, _, err := testFigure().Render()
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, c := range []color.Color{Palette[0], Palette[1], Palette[4]} {
		if !strings.Contains(s, "stroke:"+hex(c)) {
			t.Errorf("SVG has no stroke %s", hex(c))
		}
	}
	if strings.Contains(s, "stroke:"+hex(Palette[2])) {
		t.Errorf("third series drawn in %s, not in its Color %s", hex(Palette[2]), hex(Palette[4]))
	}
	if !strings.Contains(s, "stroke-dasharray") {
		t.Error("the dashed series is not dashed")
	}
	if !strings.Contains(s, fmt.Sprintf(`width="%gpt"`, Width*72)) {
		t.Errorf("SVG is not %g inches wide", Width)
	}
}

// TestFigurePNG checks the PNG's size and that the first series is drawn in
// the palette's first colour.
func TestFigurePNG(t *testing.T) {
	_, b, err := testFigure().Render()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != int(Width*96) || h != int(Height*96) {
		t.Errorf("PNG is %d×%d, want %d×%d", w, h, int(Width*96), int(Height*96))
	}
	want := hex(Palette[0])
	found := false
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y && !found; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			if hex(img.At(x, y)) == want {
				found = true
				break
			}
		}
	}
	if !found {
		t.Errorf("no pixel of colour %s", want)
	}
}

func TestFigureBadSeries(t *testing.T) {
	f := Figure{Name: "bad", Series: []Series{{Label: "s", X: []float64{0, 1}, Y: []float64{0}}}}
	if _, _, err := f.Render(); err == nil {
		t.Error("a series with fewer Y than X rendered")
	}
}

// TestDocLeadsWithVerdict checks the order of a document: verdict, headline,
// then the tables, in Markdown and HTML, and the files it renders to.
func TestDocLeadsWithVerdict(t *testing.T) {
	head := testFigure()
	head.Name = "headline"
	d := &Doc{Title: "T", Verdict: []string{"WA wins `ood_test`.", "line two", "line three"}, Headline: &head,
		Intro: []string{"made by `go test`"},
		Sections: []Section{{Title: "Accuracy", Tables: []Table{{Caption: "caption", Head: []string{"a"}, Rows: [][]string{{"1"}}}},
			Figures: []Figure{testFigure()}}}}
	md := d.Markdown()
	order := []string{"# T", "- WA wins `ood_test`.", "- line three", "![two lines](headline.png)", "made by", "## Accuracy", "caption", "| a |", "![two lines](f.png)"}
	checkOrder(t, "Markdown", md, order)
	files, err := d.Files("r")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"r.md", "r.html", "headline.png", "headline.svg", "f.png", "f.svg"} {
		if len(files[n]) == 0 {
			t.Errorf("no file %s", n)
		}
	}
	html := string(files["r.html"])
	checkOrder(t, "HTML", html, []string{"<h1>T</h1>", `<div class="verdict">`, "WA wins <code>ood_test</code>.", "line three", `<figure class="headline"><svg`, "<h2>Accuracy</h2>", "<table>", "<figcaption>two lines"})
	if strings.Contains(html, "<?xml") {
		t.Error("the HTML page holds an XML prolog")
	}
	dir := t.TempDir()
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "r.md")); err != nil || string(b) != md {
		t.Errorf("r.md: %v", err)
	}
	dup := &Doc{Headline: &head, Sections: []Section{{Figures: []Figure{head}}}}
	if _, err := dup.Files("x"); err == nil {
		t.Error("two figures of one name were accepted")
	}
}

func checkOrder(t *testing.T, what, s string, parts []string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(s[at:], p)
		if i < 0 {
			t.Errorf("%s: %q missing or out of order\n%s", what, p, s)
			return
		}
		at += i + len(p)
	}
}

func TestInline(t *testing.T) {
	for in, want := range map[string]string{
		"a `b` <c>":  "a <code>b</code> &lt;c&gt;",
		"odd ` tick": "odd ` tick",
		"":           "",
	} {
		if got := string(inline(in)); got != want {
			t.Errorf("inline(%q) = %q, want %q", in, got, want)
		}
	}
}
