package synth

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/warm-rm/warm/data"
)

// smallConfig is a quick task for tests.
func smallConfig(seed uint64) Config {
	c := DefaultConfig()
	c.Seed = seed
	c.TrainPairs, c.TestPairs, c.OODDevPairs, c.OODTestPairs = 3000, 500, 300, 500
	c.Prompts, c.SFTExamples, c.CorpusBytes = 100, 500, 100<<10
	return c
}

func generate(t *testing.T, c Config) *Task {
	t.Helper()
	task, err := Generate(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestDeterminism(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	for i, seed := range []uint64{5, 5, 6} {
		if err := generate(t, smallConfig(seed)).WriteDir(dirs[i]); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{FileTrain, FileTest, FileOODDev, FileOODTest, FileSFT, FilePrompts, FileCorpus, FileTask}
	for _, name := range names {
		a, err := os.ReadFile(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dirs[1], name))
		c, _ := os.ReadFile(filepath.Join(dirs[2], name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different bytes (or empty)", name)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds, same bytes", name)
		}
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dirs[0])
	if len(ents) != len(names) {
		t.Errorf("directory holds %d entries, want %d", len(ents), len(names))
	}
}

func TestEvalSetsIndependentOfTrainSize(t *testing.T) {
	a := smallConfig(3)
	b := a
	b.TrainPairs, b.CorpusBytes = 1000, 50<<10
	ta, tb := generate(t, a), generate(t, b)
	if !slices.Equal(ta.OODTest.Pairs, tb.OODTest.Pairs) || !slices.Equal(ta.Test.Pairs, tb.Test.Pairs) || !slices.Equal(ta.Prompts, tb.Prompts) {
		t.Error("changing the train/corpus size changed the evaluation sets or prompts")
	}
}

// testPost is a fixed post: salient facts "mara sold the boat" and "tom lost
// the car"; other facts "ana cleaned the lamp" and "ben saw the kite".
func testPost() Post {
	return ParsePost("so here is what happened. mara sold the boat. the lamp was cleaned by ana. yesterday tom lost the car. ben saw the kite." + PromptSuffix)
}

func TestParsePostFixed(t *testing.T) {
	p := testPost()
	var got []string
	for _, f := range p.Facts {
		got = append(got, f.Clause())
	}
	want := []string{"mara sold the boat", "ana cleaned the lamp", "tom lost the car", "ben saw the kite"}
	if !slices.Equal(got, want) || p.NumSalient() != 2 {
		t.Errorf("facts %q (salient %d), want %q", got, p.NumSalient(), want)
	}
}

func TestGoldProperties(t *testing.T) {
	p := testPost()
	prompt := p.Prompt()
	g := func(s string) float64 { return p.Score(s).Reward }

	full := " mara sold the boat. ana cleaned the lamp. tom lost the car. ben saw the kite."
	if r := g(full); r != MaxReward {
		t.Errorf("full summary = %v, want %v", r, MaxReward)
	}
	if Gold(prompt, full) != g(full) {
		t.Error("Gold(prompt, ...) differs from ParsePost(prompt).Score")
	}
	base := " mara sold the boat."
	steps := []struct {
		name, s string
		better  bool
	}{
		{"covering a second salient fact", " mara sold the boat. tom lost the car.", true},
		{"covering an other fact", " mara sold the boat. ben saw the kite.", true},
		{"adding a hallucination", " mara sold the boat. tom lost the boat.", false},
		{"adding a novel hallucination", " mara sold the boat. zoe won the piano.", false},
		{"repeating a clause", " mara sold the boat. mara sold the boat.", false},
		{"adding an unparseable clause", " mara sold the boat. the boat mara sold.", false},
		{"adding an empty clause", " mara sold the boat. .", false},
	}
	for _, st := range steps {
		if (g(st.s) > g(base)) != st.better {
			t.Errorf("%s: %v -> %v", st.name, g(base), g(st.s))
		}
	}
	// A salient fact is worth more than an other fact.
	if g(" tom lost the car.") <= g(" ben saw the kite.") {
		t.Error("salient fact not worth more than an other fact")
	}
	// Passive clauses and capitals parse; an unfinished last clause counts.
	for _, s := range []string{" the boat was sold by mara.", " Mara Sold The Boat.", " mara sold the boat"} {
		if g(s) != g(base) {
			t.Errorf("%q = %v, want %v", s, g(s), g(base))
		}
	}
	if g("") != 0 || g("   ") != 0 {
		t.Error("empty response must score 0")
	}
	// Rambling beyond the budget is penalised even without other errors.
	b := p.Score(full + " " + strings.Repeat("mara sold the boat. ", 20))
	if b.Repeated != 20 || b.Words <= b.Budget || b.Reward >= g(full) {
		t.Errorf("rambling: %+v", b)
	}
	if r := g(strings.Repeat(" zoe won the piano. zoe won the piano", 200)); r != MinReward {
		t.Errorf("very long junk = %v, want the floor %v", r, MinReward)
	}
}

func TestGoldGarbage(t *testing.T) {
	p := testPost()
	good := p.Score(" mara sold the boat.").Reward
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []string{".", "....", "TL;DR:", "\x00\xff\xfe", "İİİ tl;dr: mara", strings.Repeat("x", 10000), "mara sold the", "the the the the"}
	for range 2000 {
		b := make([]byte, rng.IntN(60))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(4) == 0 {
				b[i] = " .abc"[rng.IntN(5)]
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		r := p.Score(s).Reward
		if math.IsNaN(r) || r < MinReward || r > MaxReward {
			t.Fatalf("%q: reward %v out of range", s, r)
		}
		if strings.TrimSpace(s) != "" && r > 0 {
			t.Errorf("garbage %q scores %v > 0", s, r)
		}
		if r >= good {
			t.Errorf("garbage %q scores %v >= a correct summary's %v", s, r, good)
		}
		// Garbage prompts must not panic either.
		_ = Gold(s, s)
		_ = Gold(s+" TL;DR:", " mara sold the boat.")
	}
}

func TestPostRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for range 3000 {
		p := NewPost(rng)
		q := ParsePost(p.Prompt())
		if !slices.Equal(p.Facts, q.Facts) || q.Text != p.Text {
			t.Fatalf("ParsePost(%q) = %v, want %v", p.Prompt(), q.Facts, p.Facts)
		}
		if n := p.NumSalient(); n < 1 || n > 2 || len(p.Facts) < 3 || len(p.Facts) > 5 {
			t.Fatalf("post %q: %d facts, %d salient", p.Text, len(p.Facts), n)
		}
		// Every sampler's output scores the same through the text prompt.
		for _, s := range []string{SampleID(rng, p, rng.Float64()), SampleConcise(rng, p), SampleMinor(rng, p), SampleRambling(rng, p)} {
			if Gold(p.Prompt(), s) != p.Score(s).Reward || !utf8.ValidString(s) {
				t.Fatalf("inconsistent gold for %q", s)
			}
		}
	}
	for _, s := range append(slices.Clone(openers), fillers...) {
		if f := ParsePost(s).Facts; len(f) != 0 {
			t.Errorf("filler %q parses as facts %v", s, f)
		}
	}
}

func TestSamplers(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var conc, minor, ramb, padC, padP, lo, hi float64
	const n = 2000
	for range n {
		p := NewPost(rng)
		conc += p.Score(SampleConcise(rng, p)).Reward
		minor += p.Score(SampleMinor(rng, p)).Reward
		ramb += p.Score(SampleRambling(rng, p)).Reward
		c, pd := SamplePadded(rng, p)
		if len(pd) <= len(c) {
			t.Fatalf("padded %q not longer than clean %q", pd, c)
		}
		padC += p.Score(c).Reward
		padP += p.Score(pd).Reward
		lo += p.Score(SampleID(rng, p, 0.1)).Reward
		hi += p.Score(SampleID(rng, p, 0.9)).Reward
	}
	if conc <= ramb || conc <= minor || padC <= padP || hi <= lo {
		t.Errorf("sampler means: concise %v minor %v rambling %v clean %v padded %v z=.1 %v z=.9 %v", conc/n, minor/n, ramb/n, padC/n, padP/n, lo/n, hi/n)
	}
}

func TestSpuriousLengthFeature(t *testing.T) {
	c := smallConfig(11)
	c.TrainPairs, c.OODTestPairs = 10000, 3000
	task := generate(t, c)
	st := task.Stats()
	for _, s := range st {
		t.Logf("%-8s longer wins %.3f (gold %.3f), label agrees with gold %.3f (beta implies %.3f), approx tokens p95 %d max %d",
			s.Name, s.LongerWins, s.LongerWinsGold, s.LabelAgreesGold, s.ExpectedAgree, s.ApproxTokensP95, s.ApproxTokensMax)
		if s.ApproxTokensMax > 100 {
			t.Errorf("%s: sequences up to ~%d tokens, want <= 100", s.Name, s.ApproxTokensMax)
		}
	}
	for _, s := range st[:2] { // train, ID test
		if s.LongerWins < 0.65 || s.LongerWins > 0.80 {
			t.Errorf("%s: longer wins %.3f of labels, want 0.65..0.80", s.Name, s.LongerWins)
		}
	}
	for _, s := range st[2:] { // OOD dev, OOD test
		if s.LongerWins > 0.35 {
			t.Errorf("%s: longer wins %.3f of labels, want <= 0.35 (reversed)", s.Name, s.LongerWins)
		}
	}
}

func TestBradleyTerryNoise(t *testing.T) {
	for _, beta := range []float64{0, 0.5, 2, 8} {
		c := smallConfig(21)
		c.Beta, c.TrainPairs = beta, 20000
		c.TestPairs, c.OODDevPairs, c.OODTestPairs, c.Prompts, c.SFTExamples, c.CorpusBytes = 0, 0, 0, 0, 0, 0
		s := generate(t, c).Train.Stats(beta)
		// 20000 Bernoulli draws: sd of the agreement rate <= 0.0036.
		if math.Abs(s.LabelAgreesGold-s.ExpectedAgree) > 0.015 {
			t.Errorf("beta %v: labels agree with gold %.4f, beta implies %.4f", beta, s.LabelAgreesGold, s.ExpectedAgree)
		}
		t.Logf("beta %v: agreement %.4f, implied %.4f", beta, s.LabelAgreesGold, s.ExpectedAgree)
	}
}

func TestSplitsDisjoint(t *testing.T) {
	task := generate(t, smallConfig(2))
	owner := map[string]string{}
	claim := func(part, prompt string) {
		k := ParsePost(prompt).key()
		if o, ok := owner[k]; ok && o != part {
			t.Fatalf("post %q in %s and %s", prompt, o, part)
		}
		owner[k] = part
	}
	for _, s := range task.Splits() {
		for _, p := range s.Pairs {
			claim(s.Name, p.Prompt)
		}
	}
	for _, e := range task.Prompts {
		claim("prompts", e.Prompt)
	}
	for _, d := range task.Corpus {
		i := strings.Index(d, PromptSuffix)
		claim("corpus", d[:i+len(PromptSuffix)])
	}
	for _, e := range task.SFT {
		if owner[ParsePost(e.Prompt).key()] != "train" {
			t.Fatalf("SFT prompt %q is not a train post", e.Prompt)
		}
	}
	if len(task.Train.Pairs) != 3000 || len(task.Prompts) != 100 || len(task.SFT) != 500 {
		t.Errorf("sizes: train %d prompts %d sft %d", len(task.Train.Pairs), len(task.Prompts), len(task.SFT))
	}
}

func TestCorruption(t *testing.T) {
	clean := smallConfig(8)
	c := clean
	c.CorruptRate = 0.25
	a, b, base := generate(t, c), generate(t, c), generate(t, clean)
	if n := data.CountFlipped(a.Train.Pairs); n != data.FlipCount(0.25, len(a.Train.Pairs)) || n != 750 {
		t.Errorf("flipped %d, want 750", n)
	}
	if !slices.Equal(a.Train.Pairs, b.Train.Pairs) {
		t.Error("corruption not reproducible")
	}
	for i, p := range a.Train.Pairs {
		ch, rj := p.Original()
		q := base.Train.Pairs[i]
		if ch != q.Chosen || rj != q.Rejected || p.Prompt != q.Prompt {
			t.Fatalf("pair %d: corrupted task differs from the clean one beyond the flip", i)
		}
	}
	if data.CountFlipped(a.Test.Pairs)+data.CountFlipped(a.OODTest.Pairs) != 0 {
		t.Error("evaluation splits must not be corrupted")
	}
}

func TestWriteDirLoads(t *testing.T) {
	c := smallConfig(4)
	c.CorruptRate = 0.1
	task := generate(t, c)
	dir := t.TempDir()
	if err := task.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range task.Splits() {
		pairs, st, err := data.LoadPairs(filepath.Join(dir, s.Name+".jsonl"), data.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Skipped != 0 || len(pairs) != len(s.Pairs) {
			t.Fatalf("%s: loaded %d pairs, want %d", s.Name, len(pairs), len(s.Pairs))
		}
		for i, p := range pairs {
			want := s.Pairs[i]
			if p.ID != want.ID || p.Prompt != want.Prompt || p.Chosen != want.Chosen || p.Rejected != want.Rejected || p.Flipped != want.Flipped {
				t.Fatalf("%s pair %d: loaded %+v, want %+v", s.Name, i, p, want)
			}
		}
	}
	sft, _, err := data.LoadExamples(filepath.Join(dir, FileSFT), data.LoadOptions{})
	if err != nil || len(sft) != len(task.SFT) || sft[3].Response != task.SFT[3].Response || sft[3].Prompt != task.SFT[3].Prompt {
		t.Fatalf("sft: %v", err)
	}
	pr, _, err := data.LoadExamples(filepath.Join(dir, FilePrompts), data.LoadOptions{})
	if err != nil || len(pr) != len(task.Prompts) || pr[0].Prompt != task.Prompts[0].Prompt || pr[0].Response != "" {
		t.Fatalf("prompts: %v", err)
	}
	docs, _, err := data.LoadText(filepath.Join(dir, FileCorpus))
	if err != nil || !slices.Equal(docs, task.Corpus) {
		t.Fatalf("corpus: %v", err)
	}
	// Rewriting over an existing task replaces it.
	if err := generate(t, smallConfig(5)).WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 8 {
		t.Errorf("%d entries after rewrite", len(ents))
	}
	// A path that cannot be a directory is an error, and leaves nothing.
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if err := task.WriteDir(f); err == nil {
		t.Error("WriteDir onto a file: want error")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.TrainPairs = -1 },
		func(c *Config) { c.PairsPerPost = 0 },
		func(c *Config) { c.Beta = math.NaN() },
		func(c *Config) { c.CorruptRate = 1.5 },
		func(c *Config) { c.MinGap = -1 },
		func(c *Config) { c.TrainPairs = 0 },
	}
	for i, f := range bad {
		c := DefaultConfig()
		f(&c)
		if _, err := Generate(context.Background(), c); err == nil {
			t.Errorf("bad config %d: want error", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, DefaultConfig()); err == nil {
		t.Error("cancelled context: want error")
	}
}

// BenchmarkGenerateDefault measures generating the default task (the brief
// asks for under 2 s).
func BenchmarkGenerateDefault(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(context.Background(), DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGold measures one gold-reward evaluation from text.
func BenchmarkGold(b *testing.B) {
	p := testPost()
	prompt, resp := p.Prompt(), " mara sold the boat. tom lost the car. zoe won the piano."
	for b.Loop() {
		Gold(prompt, resp)
	}
}

// TestLongerBetter: the length feature is set in the in-distribution splits
// (0.5 removes it; 0.65 weakens it) and OOD splits are as before, while the
// default (0) generates the same task as before the option existed.
func TestLongerBetter(t *testing.T) {
	base := smallConfig(11)
	base.TrainPairs, base.OODTestPairs = 6000, 1000
	def := generate(t, base)
	for _, q := range []float64{0.5, 0.65} {
		c := base
		c.LongerBetter = q
		task := generate(t, c)
		st := task.Stats()
		for _, s := range st[:2] { // train, ID test
			if math.Abs(s.LongerWinsGold-q) > 0.03 || s.LengthTies != 0 {
				t.Errorf("longer_better %.2f: %s longer wins (gold) %.3f, ties %.3f", q, s.Name, s.LongerWinsGold, s.LengthTies)
			}
		}
		if !slices.Equal(task.OODTest.Pairs, def.OODTest.Pairs) || !slices.Equal(task.OODDev.Pairs, def.OODDev.Pairs) {
			t.Errorf("longer_better %.2f changed the OOD splits", q)
		}
	}
	if s := def.Train.Stats(base.Beta); s.LongerWinsGold < 0.7 {
		t.Errorf("default task: longer wins (gold) %.3f, the natural mix is about 0.76", s.LongerWinsGold)
	}
	c := base
	c.LongerBetter = 1
	if err := c.Validate(); err == nil {
		t.Error("longer_better 1 accepted")
	}
}
