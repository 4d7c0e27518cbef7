package policy

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data/synth"
)

// encodedItems are items whose token ids are the tokenizer's encoding of
// their texts (so the token path and the text path of RM agree).
func encodedItems(f *fixture, responses []string) *Batch {
	return encodedPairs(f, f.prompts, responses)
}

// encodedPairs is encodedItems with its own prompts (prompts[i % len]).
func encodedPairs(f *fixture, prompts, responses []string) *Batch {
	b := &Batch{Tokenizer: f.tok}
	for i, r := range responses {
		p := prompts[i%len(prompts)]
		it := Item{PromptText: p, ResponseText: r}
		for _, id := range f.tok.Encode(p) {
			it.Prompt = append(it.Prompt, int32(id))
		}
		for _, id := range f.tok.Encode(r) {
			it.Response = append(it.Response, int32(id))
		}
		b.Items = append(b.Items, it)
	}
	return b
}

func TestRMTokenAndTextPathsAgree(t *testing.T) {
	f := getFixture(t)
	rm := f.rm(t, "a", 5)
	b := encodedItems(f, []string{" mara sold the boat.", " tom lost the car. ada won the kite.", ""})
	viaTokens, err := rm.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	b.Tokenizer = nil // another tokenizer: re-encode the texts
	viaText, err := rm.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range viaTokens {
		if viaTokens[i] != viaText[i] {
			t.Errorf("item %d: %v from tokens, %v from text", i, viaTokens[i], viaText[i])
		}
	}
	if viaTokens[0] == viaTokens[1] {
		t.Error("different responses scored the same")
	}
}

// TestRMPack checks that an RM with Pack (as LoadRM and WARM averages
// make them) packs its model at the first Score and scores what an
// unpacked one does, bit for bit.
func TestRMPack(t *testing.T) {
	f := getFixture(t)
	plain, packed := f.rm(t, "a", 6), f.rm(t, "b", 6)
	packed.Pack = true
	b := encodedItems(f, []string{" mara sold the boat.", " tom lost the car. ada won the kite.", ""})
	want, err := plain.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := packed.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if !packed.Model.Packed() || plain.Model.Packed() {
		t.Fatalf("packed: %v and %v, want true and false", packed.Model.Packed(), plain.Model.Packed())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("item %d: packed %v, unpacked %v", i, got[i], want[i])
		}
	}
}

func TestEnsembleAndWARM(t *testing.T) {
	f := getFixture(t)
	a, b := f.rm(t, "a", 5), f.rm(t, "b", 6)
	batch := encodedItems(f, []string{" mara sold the boat.", " the boat was sold by mara. mara sold the boat."})
	ctx := context.Background()
	sa, _ := a.Score(ctx, batch)
	sb, _ := b.Score(ctx, batch)
	ens, err := NewEnsemble("ens2", []Reward{a, b})
	if err != nil {
		t.Fatal(err)
	}
	se, err := ens.Score(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range se {
		if se[i] != (sa[i]+sb[i])/2 {
			t.Errorf("ENS %v, members %v %v", se[i], sa[i], sb[i])
		}
	}
	rs := NewRewards()
	rs.Ranking = []int{1, 0}
	rs.members = map[int]Reward{0: a, 1: b}
	rs.Manifest = nil
	if _, err := rs.WARM(2); err == nil {
		t.Error("WARM without a sweep manifest was accepted")
	}
}

func TestGoldIsTheSynthGold(t *testing.T) {
	f := getFixture(t)
	post := f.task.Prompts[0].Prompt
	parsed := synth.ParsePost(post)
	good := ""
	for _, fc := range parsed.Facts {
		good += " " + fc.Clause() + "."
	}
	b := &Batch{Items: []Item{{PromptText: post, ResponseText: good}, {PromptText: post, ResponseText: " zzz."}}}
	g, err := Gold{}.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if g[0] != synth.MaxReward || g[1] != synth.Gold(post, " zzz.") || g[1] >= 0 {
		t.Errorf("gold %v", g)
	}
}

func TestParseSpecs(t *testing.T) {
	rs := NewRewards()
	if r, err := rs.Parse("gold"); err != nil || r.Name() != "gold" {
		t.Errorf("gold: %v %v", r, err)
	}
	for _, bad := range []string{"best", "ens:x", "warm", "foo:1", "rm:", "rm:/nonexistent"} {
		if _, err := rs.Parse(bad); err == nil {
			t.Errorf("spec %q accepted", bad)
		}
	}
}

// TestFluencyReward: fluency:DIR scores a batch by the language model's
// mean log-probability per response token, the same that the policy's own
// log-probabilities (a full forward pass, not the judge's decoder) give
// when the judge is the policy's model; and bad specs are named.
func TestFluencyReward(t *testing.T) {
	f := getFixture(t)
	p := f.policy(t)
	dir := filepath.Join(t.TempDir(), "judge")
	if err := checkpoint.Save(dir, &checkpoint.Checkpoint{Model: p.Model, Tokenizer: f.tok, Meta: checkpoint.Meta{Role: checkpoint.RoleBase}}, false); err != nil {
		t.Fatal(err)
	}
	rs := NewRewards()
	r, err := rs.Parse("fluency:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "fluency-judge" {
		t.Errorf("name %q", r.Name())
	}
	// Prompts short enough for the policy's context (the judge would cut
	// longer ones; LogProbs refuses them).
	b := encodedPairs(f, []string{"one", "two words", "three short words"}, []string{" a b c", " the the the the", " x"})
	got, err := r.Score(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	ss := make([]Sample, len(b.Items))
	for i, it := range b.Items {
		ss[i] = Sample{Item: it, Stopped: true} // the actions: the response and EOS, as the judge reads it
	}
	lp, err := LogProbs(context.Background(), p.Model, ss, f.tok.EOS(), 8)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ss {
		if want := lp[i] / float64(len(ss[i].Response)+1); math.Abs(got[i]-want) > 1e-5 {
			t.Errorf("item %d: fluency %.7f, log-probabilities give %.7f", i, got[i], want)
		}
	}
	for spec, want := range map[string]string{"fluency:": "fluency needs a language-model checkpoint", "fluency:" + t.TempDir(): "fluency judge"} {
		if _, err := rs.Parse(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
}
