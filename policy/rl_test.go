package policy

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
)

func tinyRL(steps int) RLConfig {
	c := DefaultRLConfig()
	c.Train.Steps, c.Train.LR, c.Train.MinLR, c.Train.Warmup = steps, 1e-2, 1e-2, 0
	c.PromptsPerStep, c.SamplesPerPrompt = 4, 4
	c.Train.BatchSize = 16
	c.Sample = tinySampling()
	c.SaveEvery, c.EvalSamples, c.KLCoef = 4, 2, 0.01
	return c
}

func rlOpts(f *fixture, p *Policy, out string, steps int) RLOptions {
	return RLOptions{Out: out, Config: tinyRL(steps), Policy: p, Reward: lowIDs{v: f.tok.VocabSize()}, Control: Gold{},
		TrainPrompts: f.prompts[4:], EvalPrompts: f.prompts[:4], StateEvery: 3}
}

func TestPolicyGradientLossAndGradient(t *testing.T) {
	f := getFixture(t)
	p := f.policy(t)
	ctx := context.Background()
	ps, err := p.EncodePrompts(f.prompts[:3], 10)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := p.Generate(ctx, ps, 2, tinySampling())
	if err != nil {
		t.Fatal(err)
	}
	adv := []float64{0.5, -1, 0, 2, -0.25, 0.75}
	m := p.Model
	surrogate := func() float64 {
		lp, err := LogProbs(ctx, m, ss, f.tok.EOS(), 4)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := range lp {
			s -= adv[i] * lp[i]
		}
		return s / float64(len(lp))
	}
	m.ZeroGrad()
	loss, err := policyGradient(m, ss, adv, f.tok.EOS())
	if err != nil {
		t.Fatal(err)
	}
	if want := surrogate(); math.Abs(loss-want) > 1e-4*math.Max(1, math.Abs(want)) {
		t.Errorf("loss %v, −mean(A·log π) %v", loss, want)
	}
	// Directional derivative along the gradient: (f(θ+εg) − f(θ−εg)) / 2ε = |g|².
	g := append([]float32(nil), m.GradFlat...)
	var g2 float64
	for _, v := range g {
		g2 += float64(v) * float64(v)
	}
	theta := append([]float32(nil), m.Flat...)
	eps := 1e-2 / math.Sqrt(g2)
	for i := range m.Flat {
		m.Flat[i] = theta[i] + float32(eps)*g[i]
	}
	fp := surrogate()
	for i := range m.Flat {
		m.Flat[i] = theta[i] - float32(eps)*g[i]
	}
	fm := surrogate()
	copy(m.Flat, theta)
	if d := (fp - fm) / (2 * eps); math.Abs(d-g2)/g2 > 0.05 {
		t.Errorf("directional derivative %v, |g|² %v", d, g2)
	}
}

func TestLogProbsMatchLogits(t *testing.T) {
	f := getFixture(t)
	p := f.policy(t)
	ctx := context.Background()
	ps, _ := p.EncodePrompts(f.prompts[:2], 10)
	ss, err := p.Generate(ctx, ps, 1, tinySampling())
	if err != nil {
		t.Fatal(err)
	}
	lp, err := LogProbs(ctx, p.Model, ss, f.tok.EOS(), 8)
	if err != nil {
		t.Fatal(err)
	}
	V := p.Model.Config.VocabSize
	for i, s := range ss {
		seq := append(append([]int32(nil), s.Prompt...), s.Actions(f.tok.EOS())...)
		logits, err := p.Model.Logits(seq, 1, len(seq))
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for t := len(s.Prompt) - 1; t < len(seq)-1; t++ {
			row := logits[t*V : (t+1)*V]
			mx := math.Inf(-1)
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v) - mx)
			}
			want += float64(row[seq[t+1]]) - mx - math.Log(z)
		}
		if math.Abs(lp[i]-want) > 1e-3 {
			t.Errorf("sample %d: log p %v, from logits %v", i, lp[i], want)
		}
	}
}

func TestRLLearnsResumesAndIsDeterministic(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	full, err := RL(ctx, rlOpts(f, f.policy(t), filepath.Join(dir, "a"), 12))
	if err != nil {
		t.Fatal(err)
	}
	if !full.Done || len(full.Steps) != 12 || len(full.Evals) != 4 {
		t.Fatalf("done %v, %d steps, %d evals", full.Done, len(full.Steps), len(full.Evals))
	}
	if full.Evals[0].KL != 0 {
		t.Errorf("KL of the SFT policy to itself %v", full.Evals[0].KL)
	}
	first, last := full.Evals[0], full.Evals[len(full.Evals)-1]
	if last.ProxyNorm <= first.ProxyNorm+0.5 || last.Proxy <= first.Proxy {
		t.Errorf("the proxy reward did not rise: %+v -> %+v", first, last)
	}
	if last.KL <= 0 {
		t.Errorf("KL after training %v", last.KL)
	}
	for _, s := range []string{"rl.json", "rl_control_kl.png", "rl_control_steps.svg", "checkpoints/step-000012/model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, "a", s)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a", stateDirName)); !os.IsNotExist(err) {
		t.Errorf("state left after a finished run: %v", err)
	}

	// The same run interrupted after step 5 and resumed ends with the same
	// bits and the same logs.
	cctx, cancel := context.WithCancel(ctx)
	o := rlOpts(f, f.policy(t), filepath.Join(dir, "b"), 12)
	o.Progress = func(s RLStep) {
		if s.Step == 5 {
			cancel()
		}
	}
	if _, err := RL(cctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	o.Progress = nil
	if _, err := RL(ctx, o); err == nil {
		t.Fatal("an existing run was overwritten without Resume")
	}
	o.Resume = true
	resumed, err := RL(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := checkpoint.Load(CheckpointDir(filepath.Join(dir, "a"), 12))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := checkpoint.Load(CheckpointDir(filepath.Join(dir, "b"), 12))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ca.Model.Flat, cb.Model.Flat) {
		t.Error("resumed run's final weights differ from the uninterrupted run's")
	}
	strip := func(r *RLResult) ([]RLStep, []RLEval) {
		steps := append([]RLStep(nil), r.Steps...)
		for i := range steps {
			steps[i].Seconds = 0
		}
		evals := append([]RLEval(nil), r.Evals...)
		for i := range evals {
			evals[i].Checkpoint = ""
		}
		return steps, evals
	}
	sa, ea := strip(full)
	sb, eb := strip(resumed)
	if !reflect.DeepEqual(sa, sb) || !reflect.DeepEqual(ea, eb) {
		t.Errorf("resumed logs differ:\n%+v\n%+v", sa, sb)
	}
	// A finished run resumed again is returned as it is.
	again, err := RL(ctx, o)
	if err != nil || !again.Done || len(again.Steps) != 12 {
		t.Errorf("finished run resumed: %v", err)
	}
}

// TestRLObjective: the repetition penalty enters the objective as
// −RepetitionCoef × data.Repetition of the response, and only when asked.
func TestRLObjective(t *testing.T) {
	c := DefaultRLConfig()
	c.KLCoef, c.EntropyCoef = 0.1, 0.01
	text := "graduate program, program program." // 4 content words, 2 of them repeats
	base := 1.5 - 0.1*3 - 0.01*(-2)
	if pen, rep := c.objective(1.5, 3, -2, text); pen != base || rep != 0 {
		t.Errorf("no penalty: %v %v, want %v 0", pen, rep, base)
	}
	c.RepetitionCoef = 4
	pen, rep := c.objective(1.5, 3, -2, text)
	if rep != 0.5 || math.Abs(pen-(base-4*0.5)) > 1e-12 {
		t.Errorf("penalised: %v %v, want %v 0.5", pen, rep, base-2)
	}
	// By stems, made-up variants of "libra" repeat (2 of 3 content words);
	// by words nothing does.
	stems := "librarian libration librara"
	if pen, rep := c.objective(1.5, 3, -2, stems); rep != 0 || pen != base {
		t.Errorf("words, on stem variants: %v %v, want %v 0", pen, rep, base)
	}
	c.RepetitionStems = true
	if pen, rep := c.objective(1.5, 3, -2, stems); math.Abs(rep-2.0/3) > 1e-12 || math.Abs(pen-(base-4*2.0/3)) > 1e-12 {
		t.Errorf("stems: %v %v, want %v %v", pen, rep, base-4*2.0/3, 2.0/3)
	}
}

// TestRLRepetitionPenalty: a run with the penalty logs the responses' mean
// repetition and, on the tiny random policy's babble (no content word
// repeats), learns exactly what the run without it learns; a run without it
// neither records a coefficient nor logs its steps' repetition.
func TestRLRepetitionPenalty(t *testing.T) {
	f := getFixture(t)
	ctx := context.Background()
	dir := t.TempDir()
	plain, err := RL(ctx, rlOpts(f, f.policy(t), filepath.Join(dir, "plain"), 4))
	if err != nil {
		t.Fatal(err)
	}
	o := rlOpts(f, f.policy(t), filepath.Join(dir, "pen"), 4)
	o.Config.RepetitionCoef = 5
	pen, err := RL(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range plain.Steps {
		a, b := plain.Steps[i], pen.Steps[i]
		a.Seconds, b.Seconds = 0, 0
		if a != b {
			t.Errorf("step %d: %+v vs %+v", i+1, a, b)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "plain", "rl.json"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("repetition_coef")) {
		t.Error("a run without the penalty records a coefficient")
	}
	if raw, err = os.ReadFile(filepath.Join(dir, "plain", trainLogFile)); err != nil || bytes.Contains(raw, []byte("repetition")) {
		t.Errorf("a run without the penalty logs the repetition of its steps (%v)", err)
	}
	// Every evaluation measures it, penalty or not, by words and by stems
	// (never fewer repeats by stems).
	for _, e := range plain.Evals {
		if e.Repetition == nil || *e.Repetition < 0 || *e.Repetition > 1 {
			t.Errorf("evaluation at step %d: repetition %v", e.Step, e.Repetition)
		} else if e.StemRepetition == nil || *e.StemRepetition < *e.Repetition || *e.StemRepetition > 1 {
			t.Errorf("evaluation at step %d: stem repetition %v (words %v)", e.Step, e.StemRepetition, *e.Repetition)
		}
	}
	if raw, err = os.ReadFile(filepath.Join(dir, "pen", "rl.json")); err != nil || !bytes.Contains(raw, []byte(`"repetition_coef": 5`)) {
		t.Errorf("the penalised run's rl.json does not record its coefficient (%v)", err)
	}
}

func TestRLConfigValidate(t *testing.T) {
	c := DefaultRLConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*RLConfig){
		func(c *RLConfig) { c.SamplesPerPrompt = 1; c.Train.BatchSize = c.PromptsPerStep },
		func(c *RLConfig) { c.Train.BatchSize++ },
		func(c *RLConfig) { c.KLCoef = -1 },
		func(c *RLConfig) { c.RepetitionCoef = -0.5 },
		func(c *RLConfig) { c.RepetitionCoef = math.NaN() },
		func(c *RLConfig) { c.RepetitionStems = true },
		func(c *RLConfig) { c.SaveEvery = 0 },
		func(c *RLConfig) { c.Sample.MaxTokens = 0 },
	}
	for i, f := range bad {
		c := DefaultRLConfig()
		f(&c)
		if c.Validate() == nil {
			t.Errorf("bad config %d accepted", i)
		}
	}
}
