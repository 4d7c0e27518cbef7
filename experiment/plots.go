package experiment

import (
	"bytes"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// figure is a rendered plot: SVG for the HTML page, PNG for Markdown.
type figure struct {
	Name     string // file stem
	Title    string
	SVG, PNG []byte
}

var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

type series struct {
	label  string
	xs, ys []float64
	dashed bool
}

func linePlot(name, title, xlabel, ylabel string, ss []series) (figure, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = false
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		pts := make(plotter.XYs, len(s.xs))
		for j := range s.xs {
			pts[j].X, pts[j].Y = s.xs[j], s.ys[j]
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return figure{}, err
		}
		c := palette[i%len(palette)]
		l.Color, sc.Color = c, c
		l.Width = vg.Points(1.5)
		sc.Shape = draw.CircleGlyph{}
		sc.Radius = vg.Points(2)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, sc)
		p.Legend.Add(s.label, l, sc)
	}
	return render(p, name, title)
}

func render(p *plot.Plot, name, title string) (figure, error) {
	f := figure{Name: name, Title: title}
	for _, format := range []string{"svg", "png"} {
		w, err := p.WriterTo(5.5*vg.Inch, 3.6*vg.Inch, format)
		if err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			return f, fmt.Errorf("plot %s: %w", name, err)
		}
		if format == "svg" {
			f.SVG = b.Bytes()
		} else {
			f.PNG = b.Bytes()
		}
	}
	return f, nil
}

// figures draws the LMC curves and the accuracy of WA and ENS against M.
func figures(r *Results) ([]figure, error) {
	var out []figure
	for _, c := range r.LMC {
		f, err := linePlot(fmt.Sprintf("lmc_%s_%s", c.Kind, c.Set),
			fmt.Sprintf("LMC (%s): %s → %s on %s", c.Kind, c.A, c.B, c.Set), "λ", "accuracy",
			[]series{{"WA (weights)", c.Lambdas, c.WA, false}, {"ENS (predictions)", c.Lambdas, c.ENS, false}, {"Diag", c.Lambdas, c.Diag, true}})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	for _, s := range r.Sets {
		var xs, wa, ens []float64
		for _, e := range r.Entries {
			res, ok := e.Result(s.Name)
			if !ok {
				continue
			}
			switch e.Kind {
			case "wa":
				xs = append(xs, float64(e.M))
				wa = append(wa, res.Accuracy)
			case "ens":
				ens = append(ens, res.Accuracy)
			}
		}
		if len(xs) == 0 {
			continue
		}
		best := bestMember(r, s.Name)
		bs := make([]float64, len(xs))
		for i := range bs {
			bs[i] = best
		}
		f, err := linePlot("m_"+s.Name, "accuracy against M on "+s.Name, "M (members)", "accuracy",
			[]series{{"WA(M)", xs, wa, false}, {"ENS(M)", xs, ens, false}, {"best member (rank set)", xs, bs, true}})
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// bestMember returns the accuracy on set of the member ranked first.
func bestMember(r *Results, set string) float64 {
	for _, m := range r.Members {
		if m.Rank == 0 {
			if res, ok := r.Entry(m.Name).Result(set); ok {
				return res.Accuracy
			}
		}
	}
	return 0
}
