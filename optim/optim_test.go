package optim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model"
)

func testSegments(sizes []int) []Segment {
	var segs []Segment
	off := 0
	for i, n := range sizes {
		segs = append(segs, Segment{Name: string(rune('a' + i)), Shape: []int{n}, Offset: off, Len: n, Decay: i%2 == 0})
		off += n
	}
	return segs
}

func randVec(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	return x
}

// TestAdamWMatchesReference runs AdamW against a float64 transcription of
// torch.optim.AdamW's update, with chunks that cut segments.
func TestAdamWMatchesReference(t *testing.T) {
	sizes := []int{5, 40000, 3, 17000, 1}
	segs := testSegments(sizes)
	n := 0
	for _, s := range sizes {
		n += s
	}
	rng := rand.New(rand.NewPCG(1, 2))
	p := randVec(rng, n, 1)
	g := make([]float32, n)
	cfg := AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}
	o, err := NewAdamW(p, g, segs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rp := make([]float64, n)
	for i, v := range p {
		rp[i] = float64(v)
	}
	rm, rv := make([]float64, n), make([]float64, n)
	decay := make([]bool, n)
	for _, s := range segs {
		for i := s.Offset; i < s.Offset+s.Len; i++ {
			decay[i] = s.Decay
		}
	}
	lrs := []float32{1e-3, 3e-3, 2e-3, 5e-4}
	for step, lr := range lrs {
		copy(g, randVec(rng, n, 0.1))
		o.Step(lr)
		tt := float64(step + 1)
		bc1 := 1 - math.Pow(0.9, tt)
		bc2 := 1 - math.Pow(float64(cfg.Beta2), tt)
		for i := range rp {
			gi := float64(g[i])
			if decay[i] {
				rp[i] *= 1 - float64(lr)*float64(cfg.WeightDecay)
			}
			rm[i] = 0.9*rm[i] + 0.1*gi
			rv[i] = float64(cfg.Beta2)*rv[i] + (1-float64(cfg.Beta2))*gi*gi
			rp[i] -= float64(lr) / bc1 * rm[i] / (math.Sqrt(rv[i])/math.Sqrt(bc2) + 1e-8)
		}
	}
	var worst float64
	for i := range rp {
		worst = math.Max(worst, math.Abs(float64(p[i])-rp[i]))
	}
	if worst > 1e-6 {
		t.Fatalf("AdamW differs from the reference by %g", worst)
	}
	if o.Steps() != int64(len(lrs)) {
		t.Fatalf("Steps() = %d", o.Steps())
	}
}

func TestAdamWDeterministicAndResumable(t *testing.T) {
	segs := testSegments([]int{70000, 33, 9000})
	n := 79033
	rng := rand.New(rand.NewPCG(3, 4))
	p0 := randVec(rng, n, 1)
	grads := make([][]float32, 6)
	for i := range grads {
		grads[i] = randVec(rng, n, 0.1)
	}
	run := func(threads int, resumeAt int) []float32 {
		defer kernels.SetThreads(kernels.SetThreads(threads))
		p := append([]float32(nil), p0...)
		g := make([]float32, n)
		o, err := NewAdamW(p, g, segs, DefaultAdamW())
		if err != nil {
			t.Fatal(err)
		}
		for i, gi := range grads {
			if i == resumeAt {
				steps, st := o.State()
				saved := make([]NamedTensor, len(st))
				for j, s := range st {
					saved[j] = NamedTensor{s.Name, s.Shape, append([]float32(nil), s.Data...)}
				}
				o, err = NewAdamW(p, g, segs, DefaultAdamW())
				if err != nil {
					t.Fatal(err)
				}
				if err := o.LoadState(steps, saved); err != nil {
					t.Fatal(err)
				}
			}
			copy(g, gi)
			ClipGradNorm(g, 1)
			o.Step(1e-3)
		}
		return p
	}
	ref := run(1, -1)
	for _, c := range []struct{ threads, resume int }{{2, -1}, {3, -1}, {2, 3}} {
		p := run(c.threads, c.resume)
		for i := range p {
			if math.Float32bits(p[i]) != math.Float32bits(ref[i]) {
				t.Fatalf("threads=%d resume=%d: parameter %d differs", c.threads, c.resume, i)
			}
		}
	}
}

func TestLoadStateErrors(t *testing.T) {
	segs := testSegments([]int{3, 4})
	p, g := make([]float32, 7), make([]float32, 7)
	o, _ := NewAdamW(p, g, segs, DefaultAdamW())
	_, st := o.State()
	if len(st) != 4 || st[0].Name != "a.exp_avg" || st[3].Name != "b.exp_avg_sq" {
		t.Fatalf("state names: %v", st)
	}
	bad := [][]NamedTensor{
		st[:3],
		append(append([]NamedTensor(nil), st...), NamedTensor{Name: "c.exp_avg", Shape: []int{1}, Data: []float32{0}}),
		{st[0], st[1], st[2], {Name: "b.exp_avg_sq", Shape: []int{5}, Data: make([]float32, 5)}},
	}
	for i, b := range bad {
		if err := o.LoadState(1, b); err == nil {
			t.Errorf("bad state %d accepted", i)
		}
	}
	if _, err := NewAdamW(p, g, testSegments([]int{3, 3}), DefaultAdamW()); err == nil {
		t.Error("segments not covering the buffer accepted")
	}
	if _, err := NewAdamW(p, g, segs, AdamWConfig{Beta1: 1, Beta2: 0.9, Eps: 1e-8}); err == nil {
		t.Error("beta1 = 1 accepted")
	}
}

func TestClipGradNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := randVec(rng, 100001, 1)
	var want float64
	for _, v := range g {
		want += float64(v) * float64(v)
	}
	want = math.Sqrt(want)
	orig := append([]float32(nil), g...)
	if n := ClipGradNorm(g, 0); math.Abs(float64(n)-want) > 1e-6*want || g[7] != orig[7] {
		t.Fatalf("norm %g, want %g (or modified without a limit)", n, want)
	}
	if n := ClipGradNorm(g, float32(2*want)); float64(n) != float64(float32(want)) || g[7] != orig[7] {
		t.Fatal("clipped below the limit")
	}
	ClipGradNorm(g, 1)
	if n := GlobalNorm(g); math.Abs(n-1) > 1e-5 {
		t.Fatalf("norm after clipping %g, want 1", n)
	}
	g[3] = float32(math.NaN())
	before := g[4]
	if n := ClipGradNorm(g, 1); !math.IsNaN(float64(n)) || g[4] != before {
		t.Fatal("NaN gradients: norm not NaN or gradients modified")
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Floor: 1e-4, Warmup: 10, Total: 110, Decay: Cosine}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	near := func(a float32, b float64) bool { return math.Abs(float64(a)-b) < 1e-9 }
	if !near(s.LR(0), 1e-4) || !near(s.LR(9), 1e-3) || !near(s.LR(10), 1e-3) || !near(s.LR(109), 1e-4) || !near(s.LR(500), 1e-4) {
		t.Fatalf("cosine: %g %g %g %g", s.LR(0), s.LR(9), s.LR(10), s.LR(109))
	}
	mid := s.LR(10 + 99/2)
	if math.Abs(float64(mid)-5.5e-4) > 1e-5 {
		t.Fatalf("cosine midpoint %g", mid)
	}
	s.Decay = Linear
	if !near(s.LR(10+99), 1e-4) || math.Abs(float64(s.LR(10+33))-(1e-3-0.9e-3/3)) > 1e-9 {
		t.Fatalf("linear: %g", s.LR(43))
	}
	s.Decay = Constant
	if !near(s.LR(100), 1e-3) {
		t.Fatal("constant")
	}
	for _, bad := range []Schedule{{Peak: 1, Floor: 2, Total: 5}, {Peak: 1, Warmup: 6, Total: 5}, {Peak: 1, Total: 0}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if d, err := ParseDecay("linear"); err != nil || d != Linear {
		t.Fatal("ParseDecay")
	}
}

// TestAdamWForModelDropsPacking checks that an optimiser built for a model
// packed for inference drops its packed weights (the optimiser updates
// them in place): after a training step, the model's rewards are those of
// the same step on a model that was never packed.
func TestAdamWForModelDropsPacking(t *testing.T) {
	cfg := model.Config{VocabSize: 32, NPositions: 8, NEmbd: 16, NLayer: 2, NHead: 2, RewardHead: true}
	tokens := []int32{3, 5, 7, 9, 11, 13, 15, 17, 2, 4, 6, 8, 10, 12, 14, 16}
	lengths := []int{8, 5}
	step := func(pack bool) []float32 {
		m, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.InitWeights(1)
		if pack {
			m.PackForInference()
		}
		opt, err := NewAdamWForModel(m, DefaultAdamW())
		if err != nil {
			t.Fatal(err)
		}
		if m.Packed() {
			t.Fatal("NewAdamWForModel left the model packed")
		}
		if _, err := m.RewardForward(tokens, 2, 8, lengths, false, 0); err != nil {
			t.Fatal(err)
		}
		if err := m.RewardBackward([]float32{1, -1}); err != nil {
			t.Fatal(err)
		}
		opt.Step(1e-2)
		r, err := m.RewardForward(tokens, 2, 8, lengths, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), r...)
	}
	want, got := step(false), step(true)
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("rewards after a step: %v, want %v", got, want)
		}
	}
}
