package sample

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/warm-rm/warm/model"
)

func testModel(t *testing.T) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{VocabSize: 50, NPositions: 40, NEmbd: 16, NLayer: 2, NHead: 2, PadID: 1})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(11)
	// Larger weights than GPT-2's init so the distribution is not flat.
	for i := range m.Flat {
		m.Flat[i] *= 8
	}
	return m
}

func requests() []Request {
	rng := rand.New(rand.NewPCG(1, 1))
	var reqs []Request
	for i := 0; i < 5; i++ {
		p := make([]int32, 3+i*2)
		for j := range p {
			p[j] = int32(2 + rng.IntN(48))
		}
		reqs = append(reqs, Request{Prompt: p, N: 3})
	}
	return reqs
}

func TestCacheMatchesRecompute(t *testing.T) {
	m := testModel(t)
	for _, temp := range []float64{0, 1} {
		cfg := Config{Temperature: temp, MaxTokens: 12, Seed: 4, BatchSize: 4}
		a, err := Generate(context.Background(), m, requests(), 0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.NoCache = true
		b, err := Generate(context.Background(), m, requests(), 0, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if !slices.Equal(a[i].Tokens, b[i].Tokens) {
				t.Fatalf("temperature %v, output %d: cache %v, recompute %v", temp, i, a[i].Tokens, b[i].Tokens)
			}
		}
	}
}

func TestDeterministicAcrossBatchSizes(t *testing.T) {
	m := testModel(t)
	var ref []Output
	for _, bs := range []int{1, 4, 15} {
		out, err := Generate(context.Background(), m, requests(), 0, Config{Temperature: 0.9, TopP: 0.95, TopK: 20, MaxTokens: 10, Seed: 7, BatchSize: bs})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 15 {
			t.Fatalf("%d outputs", len(out))
		}
		if ref == nil {
			ref = out
			continue
		}
		for i := range out {
			if out[i].Prompt != ref[i].Prompt || out[i].Sample != ref[i].Sample || !slices.Equal(out[i].Tokens, ref[i].Tokens) {
				t.Fatalf("batch %d, output %d differs", bs, i)
			}
		}
	}
	// Different samples of one prompt differ (at temperature 0.9 on a
	// peaked but not deterministic model, some must).
	same := 0
	for i := 0; i+1 < len(ref); i += 3 {
		if slices.Equal(ref[i].Tokens, ref[i+1].Tokens) {
			same++
		}
	}
	if same == 5 {
		t.Error("every prompt's samples are identical")
	}
}

func TestTopKOneIsGreedy(t *testing.T) {
	m := testModel(t)
	g, _ := Generate(context.Background(), m, requests(), 0, Config{Temperature: 0, MaxTokens: 8, BatchSize: 8})
	k, _ := Generate(context.Background(), m, requests(), 0, Config{Temperature: 1.5, TopK: 1, MaxTokens: 8, BatchSize: 8, Seed: 3})
	for i := range g {
		if !slices.Equal(g[i].Tokens, k[i].Tokens) {
			t.Fatalf("output %d: greedy %v, top-1 %v", i, g[i].Tokens, k[i].Tokens)
		}
	}
}

func TestPickDistribution(t *testing.T) {
	logits := []float32{0, 1, 2, 3}
	probs := make([]float64, 4)
	idx := make([]int, 4)
	rng := rand.New(rand.NewPCG(5, 5))
	counts := make([]int, 4)
	const n = 40000
	for i := 0; i < n; i++ {
		counts[pick(logits, Config{Temperature: 1, TopP: 0.6}, rng, probs, idx)]++
	}
	// softmax = .032 .087 .237 .644: top-p 0.6 keeps token 3 alone.
	if counts[3] != n {
		t.Errorf("top-p 0.6 counts %v", counts)
	}
	clear(counts)
	for i := 0; i < n; i++ {
		counts[pick(logits, Config{Temperature: 1, TopK: 2}, rng, probs, idx)]++
	}
	// top-2 renormalised: token 3 with e³/(e²+e³) = 0.731.
	if f := float64(counts[3]) / n; f < 0.72 || f > 0.74 || counts[0]+counts[1] != 0 {
		t.Errorf("top-k 2 counts %v", counts)
	}
}

func TestValidate(t *testing.T) {
	m := testModel(t)
	for _, c := range []Config{{Temperature: -1, MaxTokens: 3, BatchSize: 1}, {MaxTokens: 0, BatchSize: 1}, {MaxTokens: 40, BatchSize: 1}, {MaxTokens: 3, BatchSize: 1, TopP: 2}} {
		if _, err := Generate(context.Background(), m, requests(), 0, c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}

func TestStopSequences(t *testing.T) {
	m := testModel(t)
	cfg := Config{Temperature: 1, MaxTokens: 12, Seed: 5, BatchSize: 4}
	free, err := Generate(context.Background(), m, requests(), 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Stop at the second and third tokens each free-running sample wrote
	// first: every response must be cut right after the earliest match,
	// and be a prefix of the free-running one (same random stream).
	var o Output
	for _, f := range free {
		if len(f.Tokens) >= 6 && !f.Stopped {
			o = f
			break
		}
	}
	if len(o.Tokens) == 0 {
		t.Fatal("no free-running sample of 6+ tokens to build a stop sequence from")
	}
	stop := []int32{o.Tokens[3], o.Tokens[4]}
	cfg.Stop = [][]int32{{9999}, stop}
	cut, err := Generate(context.Background(), m, requests(), 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for i, c := range cut {
		f := free[i].Tokens
		if !slices.Equal(c.Tokens, f[:len(c.Tokens)]) {
			t.Fatalf("output %d: %v is not a prefix of the free-running %v", i, c.Tokens, f)
		}
		want := len(f)
		for j := 2; j <= len(f); j++ {
			if slices.Equal(f[j-2:j], stop) {
				want = j
				break
			}
		}
		if len(c.Tokens) != want {
			t.Fatalf("output %d: %d tokens, want %d (stop %v in %v)", i, len(c.Tokens), want, stop, f)
		}
		if want < len(f) || (c.StopSeq != 0 && !free[i].Stopped) {
			if c.StopSeq != 2 {
				t.Fatalf("output %d: StopSeq %d, want 2", i, c.StopSeq)
			}
			matched++
		}
	}
	if matched == 0 {
		t.Fatal("the stop sequence never matched")
	}
	if err := (Config{Temperature: 1, MaxTokens: 4, BatchSize: 1, Stop: [][]int32{{}}}).Validate(); err == nil {
		t.Fatal("an empty stop sequence was accepted")
	}
}

// TestGeneratorReusesDecoders checks that a Generator, whose KV caches
// outlive each call, gives what a fresh Generate gives, call after call,
// with other prompts, seeds and batch sizes in between (a cache holding a
// longer earlier sequence must not leak into a shorter later one).
func TestGeneratorReusesDecoders(t *testing.T) {
	m := testModel(t)
	g := NewGenerator(m)
	long := []Request{{Prompt: slices.Repeat([]int32{7}, 20), N: 4}}
	for k, c := range []struct {
		reqs []Request
		cfg  Config
	}{
		{long, Config{Temperature: 1, MaxTokens: 12, Seed: 1, BatchSize: 4}},
		{requests(), Config{Temperature: 1, MaxTokens: 12, Seed: 2, BatchSize: 4}},
		{requests(), Config{Temperature: 0, MaxTokens: 8, Seed: 3, BatchSize: 4}},
		{requests(), Config{Temperature: 1, MaxTokens: 12, Seed: 2, BatchSize: 6}},
		{long, Config{Temperature: 1, MaxTokens: 12, Seed: 1, BatchSize: 4}},
	} {
		got, err := g.Generate(context.Background(), c.reqs, 0, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Generate(context.Background(), m, c.reqs, 0, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !slices.Equal(got[i].Tokens, want[i].Tokens) {
				t.Fatalf("call %d, output %d: reused decoders %v, fresh %v", k, i, got[i].Tokens, want[i].Tokens)
			}
		}
	}
	if len(g.decs) < 2 {
		t.Errorf("%d decoders kept, want one per batch shape", len(g.decs))
	}
}
