// Package report is the project's one report layer: line figures over
// gonum/plot (one palette, one figure size), tables, and documents that
// open on a verdict and a headline figure, rendered as Markdown, HTML (with
// the figures inline as SVG), PNG and SVG. The experiment, best-of-N, RL and
// win-rate reports all go through it; no other package imports gonum/plot.
package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// Palette is the colour of every series, by position (or Series.Color):
// blue, red, green, purple, orange, grey, brown, cyan.
var Palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// Width and Height are the size of every figure, in inches.
const (
	Width  = 6.0
	Height = 4.0
)

// Series is one line of a figure: points (X, Y) with optional symmetric
// error bars Err (nil: none). Points whose Y is NaN or infinite are left
// out.
type Series struct {
	Label  string
	X, Y   []float64
	Err    []float64
	Dashed bool
	// Color is a 1-based index into Palette; 0 colours the series by its
	// position in the figure.
	Color int
}

// Figure is a line plot.
type Figure struct {
	// Name is the file stem (Name.png, Name.svg).
	Name, Title, XLabel, YLabel string
	Series                      []Series
}

// color returns the colour of the i-th series s.
func (s Series) color(i int) color.Color {
	if s.Color > 0 {
		return Palette[(s.Color-1)%len(Palette)]
	}
	return Palette[i%len(Palette)]
}

// errPoints adapts a series to plotter.YErrorer.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// legendItem is one legend entry: a label and its line and glyphs.
type legendItem struct {
	label  string
	thumbs []plot.Thumbnailer
}

func (f Figure) plot() (*plot.Plot, []legendItem, error) {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	var items []legendItem
	p.Add(plotter.NewGrid())
	for i, s := range f.Series {
		if len(s.Y) != len(s.X) || (s.Err != nil && len(s.Err) != len(s.X)) {
			return nil, nil, fmt.Errorf("plot %s: series %q: %d x, %d y, %d errors", f.Name, s.Label, len(s.X), len(s.Y), len(s.Err))
		}
		pts := make(plotter.XYs, 0, len(s.X))
		var errs plotter.YErrors
		for j := range s.X {
			if math.IsNaN(s.Y[j]) || math.IsInf(s.Y[j], 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: s.X[j], Y: s.Y[j]})
			if s.Err != nil {
				errs = append(errs, struct{ Low, High float64 }{s.Err[j], s.Err[j]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		c := s.color(i)
		l.Color, sc.Color = c, c
		l.Width = vg.Points(1.5)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(2)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, sc)
		if s.Err != nil {
			eb, err := plotter.NewYErrorBars(errPoints{pts, errs})
			if err != nil {
				return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
			}
			eb.Color = c
			p.Add(eb)
		}
		items = append(items, legendItem{s.Label, []plot.Thumbnailer{l, sc}})
	}
	return p, items, nil
}

// Render returns the figure as SVG and PNG, both Width × Height inches.
// The legend sits in a band under the axes (in two columns when it has
// more than three entries), so that it never covers a line.
func (f Figure) Render() (svg, png []byte, err error) {
	p, items, err := f.plot()
	if err != nil {
		return nil, nil, err
	}
	var out [2][]byte
	for k, format := range []string{"svg", "png"} {
		w, err := draw.NewFormattedCanvas(vg.Length(Width)*vg.Inch, vg.Length(Height)*vg.Inch, format)
		if err != nil {
			return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		drawWithLegendBelow(draw.New(w), p, items)
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		out[k] = b.Bytes()
	}
	return out[0], out[1], nil
}

// drawWithLegendBelow draws p's axes above a band holding the legend,
// split over two columns when it has more than three entries.
func drawWithLegendBelow(c draw.Canvas, p *plot.Plot, items []legendItem) {
	if len(items) == 0 {
		p.Draw(c)
		return
	}
	cols := 1
	if len(items) > 3 {
		cols = 2
	}
	rows := (len(items) + cols - 1) / cols
	entry := p.Legend.TextStyle.Height("Ag") + p.Legend.Padding
	band := vg.Length(rows)*entry + vg.Points(6)
	p.Draw(draw.Crop(c, 0, 0, band, 0))
	strip := draw.Crop(c, vg.Points(8), 0, 0, -(c.Max.Y - c.Min.Y - band))
	width := (strip.Max.X - strip.Min.X) / vg.Length(cols)
	for col := 0; col < cols; col++ {
		lg := plot.NewLegend()
		lg.TextStyle, lg.Padding, lg.ThumbnailWidth = p.Legend.TextStyle, p.Legend.Padding, p.Legend.ThumbnailWidth
		lg.Top, lg.Left = true, true
		for _, it := range items[col*rows : min((col+1)*rows, len(items))] {
			lg.Add(it.label, it.thumbs...)
		}
		lg.Draw(draw.Crop(strip, vg.Length(col)*width, -(vg.Length(cols-col-1) * width), 0, 0))
	}
}

// WriteFigures renders each figure into dir as Name.svg and Name.png, each
// file written atomically.
func WriteFigures(dir string, figs []Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("figures: %w", err)
	}
	for _, f := range figs {
		svg, png, err := f.Render()
		if err != nil {
			return err
		}
		if err := atomicdir.WriteFile(filepath.Join(dir, f.Name+".svg"), svg); err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		if err := atomicdir.WriteFile(filepath.Join(dir, f.Name+".png"), png); err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
	}
	return nil
}

// Constant returns a series at y over xs (a reference line: chance, a
// baseline), dashed.
func Constant(label string, xs []float64, y float64, colorIdx int) Series {
	ys := make([]float64, len(xs))
	for i := range ys {
		ys[i] = y
	}
	return Series{Label: label, X: xs, Y: ys, Dashed: true, Color: colorIdx}
}
