package policy

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

// Series is one line of a figure: points (X, Y) with optional symmetric
// error bars Err (nil: none).
type Series struct {
	Label  string
	X, Y   []float64
	Err    []float64
	Dashed bool
}

// Figure is a line plot.
type Figure struct {
	// Name is the file stem (Name.png, Name.svg).
	Name, Title, XLabel, YLabel string
	Series                      []Series
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff},
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// errPoints adapts a series to plotter.YErrorer.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

func (f Figure) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.Legend.Top = false
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, s := range f.Series {
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
			return nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		c := palette[i%len(palette)]
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
				return nil, fmt.Errorf("plot %s: %w", f.Name, err)
			}
			eb.Color = c
			p.Add(eb)
		}
		p.Legend.Add(s.Label, l, sc)
	}
	return p, nil
}

// Render returns the figure as SVG and PNG.
func (f Figure) Render() (svg, png []byte, err error) {
	p, err := f.plot()
	if err != nil {
		return nil, nil, err
	}
	out := [2][]byte{}
	for k, format := range []string{"svg", "png"} {
		w, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, format)
		if err != nil {
			return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			return nil, nil, fmt.Errorf("plot %s: %w", f.Name, err)
		}
		out[k] = b.Bytes()
	}
	return out[0], out[1], nil
}

// WriteFigures renders each figure into dir as Name.svg and Name.png, each
// file written atomically.
func WriteFigures(dir string, figs []Figure) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range figs {
		svg, png, err := f.Render()
		if err != nil {
			return err
		}
		if err := atomicdir.WriteFile(filepath.Join(dir, f.Name+".svg"), svg); err != nil {
			return err
		}
		if err := atomicdir.WriteFile(filepath.Join(dir, f.Name+".png"), png); err != nil {
			return err
		}
	}
	return nil
}

// BoNFigures draws control reward and proxy reward (in SFT standard
// deviations) against KL_BoN for every proxy.
func BoNFigures(r *BoNResult) []Figure {
	ctl := Figure{Name: "bon_control", Title: fmt.Sprintf("best-of-N: %s reward of the pick (%d prompts, 95%% CI)", r.Control, r.Prompts),
		XLabel: "KL_BoN = log N − (N−1)/N", YLabel: r.Control + " reward"}
	prx := Figure{Name: "bon_proxy", Title: "best-of-N: proxy reward of the pick",
		XLabel: "KL_BoN = log N − (N−1)/N", YLabel: "proxy reward (SFT std devs above SFT mean)"}
	vs := Figure{Name: "bon_vs_random", Title: "best-of-N: win rate of the pick against a random SFT sample",
		XLabel: "KL_BoN = log N − (N−1)/N", YLabel: "win rate (" + r.Control + ")"}
	for _, c := range r.Curves {
		ctl.Series = append(ctl.Series, Series{Label: c.Reward, X: r.KL, Y: c.Control, Err: c.ControlCI})
		prx.Series = append(prx.Series, Series{Label: c.Reward, X: r.KL, Y: c.ProxyZ})
		vs.Series = append(vs.Series, Series{Label: c.Reward, X: r.KL, Y: c.VsRandom})
	}
	figs := []Figure{ctl, prx, vs}
	if len(r.Comparisons) > 0 {
		wr := Figure{Name: "bon_winrate", Title: "best-of-N: win rate of one reward's pick against another's",
			XLabel: "KL_BoN = log N − (N−1)/N", YLabel: "win rate (" + r.Control + ", ties split)"}
		half := make([]float64, len(r.KL))
		for i := range half {
			half[i] = 0.5
		}
		for _, c := range r.Comparisons {
			se := make([]float64, len(c.WinRateSE))
			for i, v := range c.WinRateSE {
				se[i] = z95 * v
			}
			wr.Series = append(wr.Series, Series{Label: c.A + " vs " + c.B, X: r.KL, Y: c.WinRate, Err: se})
		}
		wr.Series = append(wr.Series, Series{Label: "even", X: r.KL, Y: half, Dashed: true})
		figs = append(figs, wr)
	}
	return figs
}
