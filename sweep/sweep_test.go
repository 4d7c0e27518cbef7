package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func plannedManifest(t *testing.T) *Manifest {
	t.Helper()
	m := &Manifest{Version: Version, Out: "members", Base: "../base", Head: "head", Train: "train.jsonl", Config: DefaultConfig()}
	err := Plan(m, PlanOptions{M: 6, Inits: []string{"a", "b", "c"}, LRs: []float64{1e-5, 3e-5, 1e-4}, Dropouts: []float32{0, 0.1}, Seed: 4, LMC: true})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlanLMCMembers(t *testing.T) {
	m := plannedManifest(t)
	if len(m.Members) != 6 {
		t.Fatalf("%d members", len(m.Members))
	}
	ref := m.Members[0]
	roles := map[string]Member{}
	for _, mb := range m.Members {
		roles[mb.Role] = mb
	}
	if ref.Role != "ref" || len(ref.SaveAt) != 1 {
		t.Fatalf("ref %+v", ref)
	}
	// Each LMC member differs from ref along exactly its own axis.
	if o := roles["order"]; o.Init != ref.Init || o.LR != ref.LR || o.Dropout != ref.Dropout || o.DataSeed == ref.DataSeed {
		t.Errorf("order member %+v", o)
	}
	if l := roles["lr"]; l.Init != ref.Init || l.LR == ref.LR || l.Dropout != ref.Dropout {
		t.Errorf("lr member %+v", l)
	}
	if i := roles["init"]; i.Init == ref.Init || i.LR != ref.LR || i.Dropout != ref.Dropout {
		t.Errorf("init member %+v", i)
	}
	seeds := map[uint64]bool{}
	for _, mb := range m.Members {
		if seeds[mb.DataSeed] {
			t.Errorf("data seed %d used twice", mb.DataSeed)
		}
		seeds[mb.DataSeed] = true
	}
	// Deterministic.
	again := plannedManifest(t)
	for i := range m.Members {
		if m.Members[i].Name != again.Members[i].Name || m.Members[i].LR != again.Members[i].LR || m.Members[i].Init != again.Members[i].Init {
			t.Fatal("plan not deterministic")
		}
	}
}

func TestManifestSaveLoad(t *testing.T) {
	m := plannedManifest(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "manifest.json")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got.MemberDir(2) != filepath.Join(dir, "sub", "members", "member-02") {
		t.Errorf("member dir %s", got.MemberDir(2))
	}
	if got.Path("../base") != filepath.Join(dir, "base") {
		t.Errorf("base %s", got.Path("../base"))
	}
	if c := got.MemberConfig(3); c.LR != m.Members[3].LR || c.DataSeed != m.Members[3].DataSeed {
		t.Errorf("member config %+v", c)
	}
	got.Members[1].Train = "shard.jsonl"
	if got.TrainFile(1) != filepath.Join(dir, "sub", "shard.jsonl") || got.TrainFile(0) != filepath.Join(dir, "sub", "train.jsonl") {
		t.Error("per-member train files")
	}
}

func TestManifestValidate(t *testing.T) {
	cases := map[string]func(m *Manifest){
		"version":    func(m *Manifest) { m.Version = 99 },
		"no members": func(m *Manifest) { m.Members = nil },
		"used twice": func(m *Manifest) { m.Members[1].Name = m.Members[0].Name },
		"bad name":   func(m *Manifest) { m.Members[0].Name = "../x" },
		"dropout":    func(m *Manifest) { m.Members[0].Dropout = 1 },
		"no init":    func(m *Manifest) { m.Members[0].Init = "" },
		"corrupt":    func(m *Manifest) { m.CorruptRate = 1.5 },
		"train":      func(m *Manifest) { m.Train = "" },
		"lr":         func(m *Manifest) { m.Members[0].LR = -1 },
	}
	for want, breakIt := range cases {
		m := plannedManifest(t)
		breakIt(m)
		err := m.Validate()
		if err == nil {
			t.Errorf("%s: accepted", want)
		}
	}
	// Unknown fields in a manifest file are an error naming the file.
	p := filepath.Join(t.TempDir(), "m.json")
	os.WriteFile(p, []byte(`{"version":1,"bogus":2}`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("unknown field: %v", err)
	}
}
