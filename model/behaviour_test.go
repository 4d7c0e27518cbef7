package model

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/warm-rm/warm/kernels"
)

func mediumConfig() Config {
	return Config{VocabSize: 97, NPositions: 40, NEmbd: 32, NLayer: 2, NHead: 4, PadID: 0,
		RewardHead: true, EmbdPdrop: 0.1, AttnPdrop: 0.1, ResidPdrop: 0.1}
}

// TestDeterminismAcrossThreads checks that outputs and gradients are
// bit-identical for 1, 2, 3 and 5 goroutines, with dropout on.
func TestDeterminismAcrossThreads(t *testing.T) {
	c := mediumConfig()
	rng := rand.New(rand.NewPCG(51, 52))
	B, T := 24, 37
	lengths := make([]int, B)
	for b := range lengths {
		lengths[b] = 1 + rng.IntN(T)
	}
	lengths[0] = T
	tokens := paddedBatch(c, rng, lengths, T)
	targets := make([]int32, B*T)
	mask := make([]float32, B*T)
	for i := range targets {
		targets[i] = int32(rng.IntN(c.VocabSize))
		if rng.IntN(3) > 0 {
			mask[i] = 1
		}
	}
	run := func(threads int) ([]float32, []float32) {
		defer kernels.SetThreads(kernels.SetThreads(threads))
		m := newTestModel(t, c, 53)
		r, err := m.RewardForward(tokens, B, T, lengths, true, 54)
		if err != nil {
			t.Fatal(err)
		}
		P := B / 2
		dr := make([]float32, B)
		if _, err := BradleyTerry(r[:P], r[P:], dr[:P], dr[P:]); err != nil {
			t.Fatal(err)
		}
		out := append([]float32(nil), r...)
		if err := m.RewardBackward(dr); err != nil {
			t.Fatal(err)
		}
		loss, err := m.LMForward(tokens, B, T, targets, mask, true, 55)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.LMBackward(); err != nil {
			t.Fatal(err)
		}
		return append(out, loss), append([]float32(nil), m.GradFlat...)
	}
	out1, g1 := run(1)
	for _, n := range []int{2, 3, 5} {
		out, g := run(n)
		for i := range out1 {
			if math.Float32bits(out[i]) != math.Float32bits(out1[i]) {
				t.Fatalf("threads=%d: output %d differs: %g vs %g", n, i, out[i], out1[i])
			}
		}
		for i := range g1 {
			if math.Float32bits(g[i]) != math.Float32bits(g1[i]) {
				t.Fatalf("threads=%d: gradient %d differs: %g vs %g", n, i, g[i], g1[i])
			}
		}
	}
}

// TestDropout checks that dropout acts only in training passes, depends on
// the seed, and that the rewards without dropout equal the float64
// reference's (the manual computation of GPT2ForSequenceClassification).
func TestDropout(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 61)
	rng := rand.New(rand.NewPCG(62, 63))
	B, T := 6, 20
	lengths := []int{20, 3, 11, 1, 17, 8}
	tokens := paddedBatch(c, rng, lengths, T)
	get := func(train bool, seed uint64) []float32 {
		r, err := m.RewardForward(tokens, B, T, lengths, train, seed)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), r...)
	}
	eval1, eval2 := get(false, 1), get(false, 2)
	tr1, tr1b, tr2 := get(true, 1), get(true, 1), get(true, 2)
	for b := range B {
		if eval1[b] != eval2[b] {
			t.Fatal("dropout seed changes an evaluation pass")
		}
		if tr1[b] != tr1b[b] {
			t.Fatal("same dropout seed, different rewards")
		}
	}
	if equal(tr1, eval1) || equal(tr1, tr2) {
		t.Fatal("dropout has no effect, or ignores its seed")
	}
	want := newRef(m).rewards(tokens, B, T, lengths, false, 0)
	if e := forwardErr(eval1, want); e > 2e-6 {
		t.Fatalf("rewards %v, reference %v (error %g)", eval1, want, e)
	}
}

func equal(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPaddingInvariance checks that what follows a sequence's end (pad
// tokens of any value, any amount of padding) does not change its reward or
// its gradients, and that nil lengths follow the first-pad rule.
func TestPaddingInvariance(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 71)
	rng := rand.New(rand.NewPCG(72, 73))
	lengths := []int{5, 12, 1, 9}
	B := len(lengths)
	tok12 := paddedBatch(c, rng, lengths, 12)
	tok30 := make([]int32, B*30)
	for b := range B {
		for t := range 30 {
			if t < lengths[b] {
				tok30[b*30+t] = tok12[b*12+t]
			} else {
				tok30[b*30+t] = int32(rng.IntN(c.VocabSize)) // garbage after the end
			}
		}
	}
	run := func(tokens []int32, T int, lengths []int) ([]float32, []float32) {
		m.ZeroGrad()
		r, err := m.RewardForward(tokens, B, T, lengths, true, 9)
		if err != nil {
			t.Fatal(err)
		}
		out := append([]float32(nil), r...)
		dr := []float32{1, -0.5, 0.25, 2}
		if err := m.RewardBackward(dr); err != nil {
			t.Fatal(err)
		}
		return out, append([]float32(nil), m.GradFlat...)
	}
	r1, g1 := run(tok12, 12, lengths)
	r2, g2 := run(tok30, 30, lengths)
	r3, g3 := run(tok12, 12, nil) // pads are c.PadID: the first-pad rule finds the lengths
	if !equal(r1, r2) || !equal(g1, g2) || !equal(r1, r3) || !equal(g1, g3) {
		t.Fatal("rewards or gradients depend on the padding")
	}
	if _, err := m.RewardForward(tok12, B, 12, []int{5, 13, 1, 9}, false, 0); err == nil {
		t.Fatal("length > T accepted")
	}
	if _, err := m.RewardForward(tok12, B, 12, []int{5, 0, 1, 9}, false, 0); err == nil {
		t.Fatal("empty sequence accepted")
	}
	bad := append([]int32(nil), tok12...)
	bad[3] = int32(c.VocabSize)
	if _, err := m.RewardForward(bad, B, 12, lengths, false, 0); err == nil {
		t.Fatal("out-of-vocabulary token accepted")
	}
	if err := m.LMBackward(); err == nil {
		t.Fatal("LMBackward after RewardForward accepted")
	}
}

// TestLMRowsMatchLogits checks the LM head's row selection against the
// full logits: per-token losses equal −log softmax of Logits.
func TestLMRowsMatchLogits(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 81)
	rng := rand.New(rand.NewPCG(82, 83))
	B, T := 3, 16
	tokens := paddedBatch(c, rng, []int{16, 16, 16}, T)
	targets := make([]int32, B*T)
	mask := make([]float32, B*T)
	for i := range targets {
		targets[i] = int32(rng.IntN(c.VocabSize))
		if i%T >= 4 && i%T < 11 && i%5 != 0 {
			mask[i] = 1
		}
	}
	if _, err := m.LMForward(tokens, B, T, targets, mask, false, 0); err != nil {
		t.Fatal(err)
	}
	tl := append([]float32(nil), m.TokenLosses()...)
	logits, err := m.Logits(tokens, B, T)
	if err != nil {
		t.Fatal(err)
	}
	V := c.VocabSize
	for i := range targets {
		if mask[i] == 0 {
			if tl[i] != 0 {
				t.Fatalf("token %d: loss %g where the weight is 0", i, tl[i])
			}
			continue
		}
		want := refCE(f64(logits[i*V:i*V+V]), targets[i:i+1], []float64{1}, 1, V, 1)
		if math.Abs(float64(tl[i])-want) > 1e-5 {
			t.Fatalf("token %d: loss %g, from Logits %g", i, tl[i], want)
		}
	}
}

// TestKVCache checks incremental decoding against the full forward pass of
// each sequence alone, with prompts of different lengths.
func TestKVCache(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 91)
	rng := rand.New(rand.NewPCG(92, 93))
	prompts := []int{7, 1, 12, 4}
	B, T, steps := len(prompts), 12, 9
	full := make([][]int32, B) // each sequence: prompt then generated tokens
	for b, n := range prompts {
		for range n + steps {
			full[b] = append(full[b], int32(1+rng.IntN(c.VocabSize-1)))
		}
	}
	tokens := make([]int32, B*T)
	for b, n := range prompts {
		copy(tokens[b*T:], full[b][:n])
	}
	kv, err := m.NewKVCache(B, T+steps)
	if err != nil {
		t.Fatal(err)
	}
	// want[b][i]: logits after the first i tokens of sequence b, alone.
	V := c.VocabSize
	want := func(b, n int) []float32 {
		l, err := m.Logits(full[b][:n], 1, n)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), l[(n-1)*V:n*V]...)
	}
	check := func(got []float32, step int) {
		for b := range B {
			n := prompts[b] + step
			w := want(b, n)
			if e := forwardErr(got[b*V:b*V+V], f64(w)); e > 2e-6 {
				t.Fatalf("step %d, sequence %d: logits differ from the full forward (error %g)", step, b, e)
			}
		}
	}
	got, err := kv.Prefill(tokens, T, prompts)
	if err != nil {
		t.Fatal(err)
	}
	check(append([]float32(nil), got...), 0)
	next := make([]int32, B)
	for s := range steps {
		for b, n := range prompts {
			next[b] = full[b][n+s]
		}
		got, err := kv.Step(next)
		if err != nil {
			t.Fatal(err)
		}
		check(append([]float32(nil), got...), s+1)
	}
	if _, err := kv.Step(next); err == nil {
		t.Fatal("step past the cache length accepted")
	}
	// Steps do not allocate buffers, only the small closures handed to
	// kernels.ParallelFor: with 64 sequences, one step's logits alone would
	// be 4·64·V = 24,832 bytes.
	const big = 64
	kvb, err := m.NewKVCache(big, 8)
	if err != nil {
		t.Fatal(err)
	}
	bigTokens := make([]int32, big*4)
	for i := range bigTokens {
		bigTokens[i] = int32(1 + i%(c.VocabSize-1))
	}
	if _, err := kvb.Prefill(bigTokens, 4, nil); err != nil {
		t.Fatal(err)
	}
	bigNext := bigTokens[:big]
	defer kernels.SetThreads(kernels.SetThreads(1))
	// The smallest of a few rounds: TotalAlloc is process-wide, so a round
	// can also count what the runtime or the test framework allocated.
	var before, after runtime.MemStats
	const n = 4
	perStep := math.Inf(1)
	for range 5 {
		if _, err := kvb.Prefill(bigTokens, 4, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&before)
		for range n {
			if _, err := kvb.Step(bigNext); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		perStep = math.Min(perStep, float64(after.TotalAlloc-before.TotalAlloc)/n)
	}
	if perStep > 8192 {
		t.Fatalf("Step allocates %g bytes", perStep)
	}
	t.Logf("Step (64 sequences): %g bytes allocated (closures handed to ParallelFor)", perStep)
}

func TestDropoutRate(t *testing.T) {
	for _, p := range []float32{0.05, 0.1, 0.5} {
		d := newDropout(p, true, 3, 2, siteAttnResid)
		x := make([]float32, 100001)
		dropped := 0
		for row := range 10 {
			for i := range x {
				x[i] = 1
			}
			d.apply(x, d.rowKey(row, 7))
			for _, v := range x {
				switch v {
				case 0:
					dropped++
				case d.scale:
				default:
					t.Fatalf("p=%g: element scaled by %g", p, v)
				}
			}
		}
		if got := float64(dropped) / float64(10*len(x)); math.Abs(got-float64(p)) > 0.003 {
			t.Fatalf("p=%g: dropped fraction %g", p, got)
		}
	}
	if newDropout(0.3, false, 1, 0, siteEmbd).active || newDropout(0, true, 1, 0, siteEmbd).active {
		t.Fatal("dropout active outside training or with p = 0")
	}
}

// TestWorkspaceReuse runs batches of growing and shrinking shapes through
// one model and checks each against a fresh model.
func TestWorkspaceReuse(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 111)
	rng := rand.New(rand.NewPCG(112, 113))
	for _, shape := range [][2]int{{2, 5}, {7, 30}, {3, 8}, {9, 4}, {1, 40}} {
		B, T := shape[0], shape[1]
		lengths := make([]int, B)
		for b := range lengths {
			lengths[b] = 1 + rng.IntN(T)
		}
		tokens := paddedBatch(c, rng, lengths, T)
		m.ZeroGrad()
		r, err := m.RewardForward(tokens, B, T, lengths, true, 5)
		if err != nil {
			t.Fatal(err)
		}
		got := append([]float32(nil), r...)
		dr := make([]float32, B)
		for i := range dr {
			dr[i] = float32(i) - 1.5
		}
		if err := m.RewardBackward(dr); err != nil {
			t.Fatal(err)
		}
		fresh := newTestModel(t, c, 111)
		r2, _ := fresh.RewardForward(tokens, B, T, lengths, true, 5)
		if err := fresh.RewardBackward(dr); err != nil {
			t.Fatal(err)
		}
		if !equal(got, r2) || !equal(m.GradFlat, fresh.GradFlat) {
			t.Fatalf("B=%d T=%d: a reused workspace gives other results", B, T)
		}
	}
}

// TestFeaturesAndHeadBackward checks Features against the reward head and
// that RewardHeadBackward touches only score.weight, with the same gradient
// as the full backward pass.
func TestFeaturesAndHeadBackward(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 121)
	rng := rand.New(rand.NewPCG(122, 123))
	lengths := []int{4, 9, 1}
	B, T := 3, 9
	tokens := paddedBatch(c, rng, lengths, T)
	feat, err := m.Features(tokens, B, T, lengths)
	if err != nil {
		t.Fatal(err)
	}
	feat = append([]float32(nil), feat...)
	if err := m.RewardBackward([]float32{1, 1, 1}); err == nil {
		t.Fatal("RewardBackward after Features accepted")
	}
	r, err := m.RewardForward(tokens, B, T, lengths, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	score, _ := m.Param("score.weight")
	C := c.NEmbd
	for b := range B {
		var s float32
		for j := range C {
			s += feat[b*C+j] * score.Data[j]
		}
		if math.Abs(float64(s-r[b])) > 1e-6*math.Max(1, math.Abs(float64(r[b]))) {
			t.Fatalf("sequence %d: features·score = %g, reward %g", b, s, r[b])
		}
	}
	dr := []float32{0.5, -1, 2}
	m.ZeroGrad()
	if err := m.RewardHeadBackward(dr); err != nil {
		t.Fatal(err)
	}
	head := append([]float32(nil), score.Grad...)
	for _, p := range m.Params() {
		if p.Name == "score.weight" {
			continue
		}
		for _, g := range p.Grad {
			if g != 0 {
				t.Fatalf("RewardHeadBackward wrote a gradient into %s", p.Name)
			}
		}
	}
	m.ZeroGrad()
	if err := m.RewardBackward(dr); err != nil {
		t.Fatal(err)
	}
	if !equal(head, score.Grad) {
		t.Fatal("head-only and full backward disagree on score.weight")
	}
}

func TestLMForwardErrors(t *testing.T) {
	c := mediumConfig()
	m := newTestModel(t, c, 131)
	tokens := make([]int32, 2*5)
	targets := make([]int32, 2*5)
	if _, err := m.LMForward(tokens, 2, 5, targets, make([]float32, 10), false, 0); err == nil {
		t.Fatal("all-zero loss mask accepted")
	}
	mask := make([]float32, 10)
	mask[3] = 1
	targets[3] = -1
	if _, err := m.LMForward(tokens, 2, 5, targets, mask, false, 0); err == nil {
		t.Fatal("negative target accepted")
	}
	targets[3] = 0
	mask[4] = float32(math.NaN())
	if _, err := m.LMForward(tokens, 2, 5, targets, mask, false, 0); err == nil {
		t.Fatal("NaN weight accepted")
	}
	if _, err := m.LMForward(tokens, 2, 41, targets, nil, false, 0); err == nil {
		t.Fatal("T > n_positions accepted")
	}
	if _, err := m.LMForward(tokens, 2, 5, targets[:9], nil, false, 0); err == nil {
		t.Fatal("short targets accepted")
	}
	// A sequence without any loss weight is skipped entirely.
	mask[4] = 0
	if _, err := m.LMForward(tokens, 2, 5, targets, mask, true, 1); err != nil {
		t.Fatal(err)
	}
	if err := m.LMBackward(); err != nil {
		t.Fatal(err)
	}
}
