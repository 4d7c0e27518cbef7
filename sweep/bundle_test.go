package sweep

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
)

// bundleManifest writes a base, a head probed on it (saved as a reward
// model with the base's fingerprint) and a two-member manifest into dir.
func bundleManifest(t *testing.T, dir string) *Manifest {
	t.Helper()
	tok, err := tokenizer.Train(context.Background(), slices.Values([]string{"the cat sat on the mat", "a dog ate the bone"}), tokenizer.TrainConfig{VocabSize: 280})
	if err != nil {
		t.Fatal(err)
	}
	save := func(name string, reward bool, meta checkpoint.Meta) string {
		m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 16, NEmbd: 8, NLayer: 1, NHead: 2, PadID: tok.Pad(), RewardHead: reward})
		if err != nil {
			t.Fatal(err)
		}
		m.InitWeights(3)
		ck := &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: meta}
		if err := checkpoint.Save(filepath.Join(dir, name), ck, false); err != nil {
			t.Fatal(err)
		}
		return ck.Meta.BaseFingerprint
	}
	base := save("base", false, checkpoint.Meta{Role: checkpoint.RoleBase})
	save("head", true, checkpoint.Meta{Role: checkpoint.RoleRM, BaseFingerprint: base})
	os.WriteFile(filepath.Join(dir, "base", "notes.txt"), []byte("not part of the checkpoint"), 0o644)
	m := &Manifest{Version: Version, Out: "members", Base: "base", Head: "head", Train: "secret-train.jsonl", Config: DefaultConfig(),
		Eval: []EvalSet{{Name: "ood_dev", Path: "secret-eval.jsonl"}},
		Members: []Member{
			{Name: "member-00", Init: "base", LR: 1e-4, Dropout: 0.1, Seed: 3, DataSeed: 4, SaveAt: []int{5}, Role: "shard", Train: "secret-shard.jsonl"},
			{Name: "baseline", Init: "base", LR: 1e-4, Role: RoleBaseline},
		}}
	if err := m.Save(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBundleExportLoad(t *testing.T) {
	dir := t.TempDir()
	m := bundleManifest(t, dir)
	out := filepath.Join(dir, "bundle")
	if err := Export(m, 0, out, false); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.Member != "member-00" || b.Dropout != 0.1 || !slices.Equal(b.SaveAt, []int{5}) || b.Train != m.MemberConfig(0) || b.Base.Path != "base" || b.Base.Fingerprint == "" {
		t.Errorf("bundle %+v", b)
	}
	o := b.RMOptions("out", "site.jsonl")
	if o.Init != b.InitDir() || o.Head != b.HeadDir() || *o.Dropout != 0.1 || o.Train != m.MemberConfig(0) || o.CorruptRate != 0 || o.InitLabel != "bundle:member-00/init" {
		t.Errorf("options %+v", o)
	}
	raw, _ := os.ReadFile(filepath.Join(out, BundleFile))
	for _, s := range []string{"secret", "baseline", dir} {
		if strings.Contains(string(raw), s) {
			t.Errorf("bundle.json mentions %q:\n%s", s, raw)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "init", "notes.txt")); err == nil {
		t.Error("a file beside the init checkpoint was copied")
	}
	if err := Export(m, 0, out, false); err == nil {
		t.Error("export over an existing bundle without replace")
	}
	if err := Export(m, 0, out, true); err != nil {
		t.Errorf("export with replace: %v", err)
	}

	// bundle.json is read strictly; errors name the file and the field.
	edit := func(f func(map[string]any)) {
		var v map[string]any
		json.Unmarshal(raw, &v)
		f(v)
		b, _ := json.Marshal(v)
		os.WriteFile(filepath.Join(out, BundleFile), b, 0o644)
	}
	for field, f := range map[string]func(map[string]any){
		"bogus":            func(v map[string]any) { v["bogus"] = 1 },
		"version":          func(v map[string]any) { v["version"] = 9 },
		"dropout":          func(v map[string]any) { v["dropout"] = 1.5 },
		"init_fingerprint": func(v map[string]any) { v["init_fingerprint"] = "wfp1:other" },
		"train":            func(v map[string]any) { v["train"].(map[string]any)["lr"] = -1 },
	} {
		edit(f)
		_, err := LoadBundle(out)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(out, BundleFile)) || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}

	if err := Export(m, 1, filepath.Join(dir, "b1"), false); err == nil || !strings.Contains(err.Error(), "baseline") {
		t.Errorf("baseline exported: %v", err)
	}
	m.CorruptRate = 0.2
	if err := Export(m, 0, filepath.Join(dir, "b2"), false); err == nil || !strings.Contains(err.Error(), "corrupt_rate") {
		t.Errorf("corrupting manifest exported: %v", err)
	}
	m.CorruptRate = 0
	m.Head = "nohead"
	if err := Export(m, 0, filepath.Join(dir, "b3"), false); err == nil || !strings.Contains(err.Error(), "--head-only") {
		t.Errorf("missing head: %v", err)
	}
	for _, p := range []string{"b1", "b2", "b3"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("failed export wrote %s", p)
		}
	}
}
