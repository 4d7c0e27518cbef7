package model

import (
	"math"
	"testing"
)

func tinyConfig() Config {
	return Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 2, NHead: 2, PadID: 0, RewardHead: true}
}

func TestParamsLayout(t *testing.T) {
	cfg := tinyConfig()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	want := 2 + 12*cfg.NLayer + 2 + 1
	if len(ps) != want {
		t.Fatalf("%d params, want %d", len(ps), want)
	}
	off := 0
	for _, p := range ps {
		if p.Offset != off {
			t.Fatalf("%s at offset %d, want %d", p.Name, p.Offset, off)
		}
		n := 1
		for _, d := range p.Shape {
			n *= d
		}
		if n != len(p.Data) || n != len(p.Grad) {
			t.Fatalf("%s: shape %v but %d/%d elements", p.Name, p.Shape, len(p.Data), len(p.Grad))
		}
		if &p.Data[0] != &m.Flat[off] || &p.Grad[0] != &m.GradFlat[off] {
			t.Fatalf("%s: views do not alias the flat buffers", p.Name)
		}
		off += n
	}
	if off != len(m.Flat) || off != cfg.NumParams() {
		t.Fatalf("params cover %d of %d elements", off, len(m.Flat))
	}
	p, ok := m.Param("transformer.h.1.attn.c_attn.weight")
	if !ok || p.Shape[0] != 16 || p.Shape[1] != 48 || !p.Decay {
		t.Fatalf("c_attn.weight: %+v", p)
	}
	if p, _ := m.Param("transformer.h.0.ln_1.bias"); p.Decay {
		t.Fatal("LayerNorm bias must not decay")
	}
	if p, ok := m.Param("score.weight"); !ok || p.Shape[0] != 1 || p.Shape[1] != 16 {
		t.Fatalf("score.weight: %+v", p)
	}
	cfg.RewardHead = false
	m2, _ := New(cfg)
	if _, ok := m2.Param("score.weight"); ok {
		t.Fatal("score.weight without a reward head")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{VocabSize: 0, NPositions: 4, NEmbd: 4, NLayer: 1, NHead: 1},
		{VocabSize: 4, NPositions: 4, NEmbd: 6, NLayer: 1, NHead: 4},
		{VocabSize: 4, NPositions: 4, NEmbd: 4, NLayer: 1, NHead: 1, PadID: 4},
		{VocabSize: 4, NPositions: 4, NEmbd: 4, NLayer: 1, NHead: 1, AttnPdrop: 1},
	}
	for _, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

func TestInitWeights(t *testing.T) {
	cfg := Config{VocabSize: 500, NPositions: 64, NEmbd: 64, NLayer: 4, NHead: 4, RewardHead: true}
	m, _ := New(cfg)
	m.InitWeights(7)
	std := func(x []float32) float64 {
		var s, s2 float64
		for _, v := range x {
			s += float64(v)
			s2 += float64(v) * float64(v)
		}
		n := float64(len(x))
		return math.Sqrt(s2/n - (s/n)*(s/n))
	}
	check := func(name string, want float64) {
		p, _ := m.Param(name)
		if got := std(p.Data); math.Abs(got-want) > 0.05*want {
			t.Errorf("%s: std %g, want %g", name, got, want)
		}
	}
	check("transformer.wte.weight", 0.02)
	check("transformer.h.2.mlp.c_fc.weight", 0.02)
	check("transformer.h.2.mlp.c_proj.weight", 0.02/math.Sqrt(8))
	check("transformer.h.0.attn.c_proj.weight", 0.02/math.Sqrt(8))
	for _, name := range []string{"transformer.h.1.ln_2.weight", "transformer.ln_f.weight"} {
		p, _ := m.Param(name)
		for _, v := range p.Data {
			if v != 1 {
				t.Fatalf("%s not 1", name)
			}
		}
	}
	p, _ := m.Param("transformer.h.1.mlp.c_fc.bias")
	for _, v := range p.Data {
		if v != 0 {
			t.Fatal("bias not 0")
		}
	}
	m2, _ := New(cfg)
	m2.InitWeights(7)
	for i := range m.Flat {
		if m.Flat[i] != m2.Flat[i] {
			t.Fatal("InitWeights is not deterministic")
		}
	}
	// A tensor's init does not depend on the presence of the reward head.
	cfg.RewardHead = false
	m3, _ := New(cfg)
	m3.InitWeights(7)
	for i := range m3.Flat {
		if m.Flat[i] != m3.Flat[i] {
			t.Fatal("trunk init depends on the reward head")
		}
	}
}
