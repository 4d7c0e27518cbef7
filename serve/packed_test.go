package serve

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
)

// writeGPT2RM writes a tiny GPT-2 reward model, as warm trains them, with
// tokenizer tok.
func writeGPT2RM(t *testing.T, dir string, tok *tokenizer.Tokenizer, seed uint64) {
	t.Helper()
	m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 32, NEmbd: 24, NLayer: 2, NHead: 2, PadID: tok.Pad(), RewardHead: true})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(seed)
	if err := checkpoint.Save(dir, &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleRM}}, false); err != nil {
		t.Fatal(err)
	}
}

// TestGPT2Packed: a served GPT-2 reward model is packed for inference
// (the single model, the members of an ensemble, the WARM average; a
// reloaded model too), and its rewards are the offline ones bit for bit.
func TestGPT2Packed(t *testing.T) {
	root := t.TempDir()
	tok, err := tokenizer.Train(context.Background(), slices.Values([]string{"a dog ate the bone", "the cat sat on the mat", "i found money"}),
		tokenizer.TrainConfig{VocabSize: 300, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeGPT2RM(t, a, tok, 1)
	writeGPT2RM(t, b, tok, 2)
	texts := []string{"a dog ate the bone", "the cat", "x"}
	packed := func(l *loaded) (single, members []bool) {
		for _, m := range l.members {
			members = append(members, m.Model.(*model.Model).Packed())
		}
		if l.warm != nil {
			single = append(single, l.warm.Model.(*model.Model).Packed())
		}
		return single, members
	}
	score := func(url string) []float32 { return scoreTexts(t, url, texts) }

	s, ts := newTestServer(t, Options{Models: []string{a}})
	if _, m := packed(s.cur.Load()); !slices.Equal(m, []bool{true}) {
		t.Errorf("--model: packed %v", m)
	}
	// offline scores with the checkpoint's model as loaded: not packed.
	want := offline(t, a, texts)
	if got := score(ts.URL); !slices.Equal(got, want) {
		t.Errorf("packed served rewards %v, offline unpacked %v", got, want)
	}
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, m := packed(s.cur.Load()); !slices.Equal(m, []bool{true}) {
		t.Errorf("reloaded: packed %v", m)
	}
	if got := score(ts.URL); !slices.Equal(got, want) {
		t.Errorf("reloaded: rewards %v, offline %v", got, want)
	}

	s, _ = newTestServer(t, Options{Models: []string{a, b}})
	if _, m := packed(s.cur.Load()); !slices.Equal(m, []bool{true, true}) {
		t.Errorf("--ens: members packed %v", m)
	}
	s, _ = newTestServer(t, Options{Models: []string{a, b}, WARM: true, IgnoreBaseFingerprint: true, TempDir: root})
	if w, m := packed(s.cur.Load()); !slices.Equal(w, []bool{true}) || !slices.Equal(m, []bool{false, false}) {
		t.Errorf("--warm: average packed %v, members %v (want the average only)", w, m)
	}
}

// TestGPT2NoPack: with NoPack the served models stay as loaded and score
// what the packed server scores.
func TestGPT2NoPack(t *testing.T) {
	root := t.TempDir()
	tok, err := tokenizer.Train(context.Background(), slices.Values([]string{"a dog ate the bone", "the cat sat on the mat"}),
		tokenizer.TrainConfig{VocabSize: 300, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(root, "a")
	writeGPT2RM(t, a, tok, 3)
	texts := []string{"a dog ate the bone", "the cat", "x"}
	s, ts := newTestServer(t, Options{Models: []string{a}, NoPack: true})
	if s.cur.Load().members[0].Model.(*model.Model).Packed() {
		t.Fatal("NoPack: the served model is packed")
	}
	want := offline(t, a, texts)
	if got := scoreTexts(t, ts.URL, texts); !slices.Equal(got, want) {
		t.Errorf("unpacked served rewards %v, offline %v", got, want)
	}
}

// scoreTexts posts texts to /v1/score and returns their rewards.
func scoreTexts(t *testing.T, url string, texts []string) []float32 {
	t.Helper()
	items := make([]any, len(texts))
	for i, s := range texts {
		items[i] = map[string]string{"text": s}
	}
	body, _ := json.Marshal(map[string]any{"items": items})
	code, v, _ := post(t, url+"/v1/score", "", string(body))
	if code != 200 {
		t.Fatalf("%d %v", code, v)
	}
	var out []float32
	for _, x := range floats(v["rewards"]) {
		out = append(out, float32(x))
	}
	return out
}
