package sweep

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/model"
)

func rankManifest() *Manifest {
	return &Manifest{Members: []Member{
		{Name: "m0", Role: "random"}, {Name: "m1", Role: "random"},
		{Name: "base", Role: RoleBaseline}, {Name: "m3", Role: "random"},
	}}
}

func TestRankSkipsBaselinesAndKeepsManifestOrderOnTies(t *testing.T) {
	m := rankManifest()
	// The baseline scores best but is never ranked; m0 and m3 tie.
	rank, err := m.Rank([]float64{0.6, 0.7, 0.9, 0.6})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 0, 3}; !slices.Equal(rank, want) {
		t.Fatalf("rank %v, want %v", rank, want)
	}
	if _, err := m.Rank([]float64{1}); err == nil {
		t.Fatal("a score per member is required")
	}
	only := &Manifest{Members: []Member{{Name: "b", Role: RoleBaseline}}}
	if _, err := only.Rank([]float64{1}); err == nil || !strings.Contains(err.Error(), "baseline") {
		t.Fatalf("all baselines: %v", err)
	}
}

func TestTop(t *testing.T) {
	top, err := Top([]int{4, 2, 7}, 2)
	if err != nil || !slices.Equal(top, []int{4, 2}) {
		t.Fatalf("top %v, %v", top, err)
	}
	for _, M := range []int{0, 4} {
		if _, err := Top([]int{4, 2, 7}, M); err == nil {
			t.Errorf("M = %d accepted", M)
		}
	}
}

func TestMeanIsOrderedFloat64Sum(t *testing.T) {
	got := Mean([][]float32{{1, 0.1}, {2, 0.2}, {4, 0.4}})
	want0 := (1.0 + 2.0 + 4.0) / 3
	want1 := (float64(float32(0.1)) + float64(float32(0.2)) + float64(float32(0.4))) / 3
	if got[0] != want0 || got[1] != want1 {
		t.Fatalf("mean %v, want [%v %v]", got, want0, want1)
	}
}

func TestAverageChecksArchitecture(t *testing.T) {
	cfg := model.Config{VocabSize: 16, NPositions: 8, NEmbd: 8, NLayer: 1, NHead: 2, RewardHead: true}
	a, _ := model.New(cfg)
	cfg.AttnPdrop = 0.1 // dropout may differ between members
	b, _ := model.New(cfg)
	for i := range a.Flat {
		a.Flat[i], b.Flat[i] = 1, 3
	}
	avg, err := NewAverage([]*model.Model{a, b}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if avg.Config.AttnPdrop != 0 || avg.Flat[0] != 2 || avg.Flat[len(avg.Flat)-1] != 2 {
		t.Fatalf("average: dropout %v, weights %v…%v", avg.Config.AttnPdrop, avg.Flat[0], avg.Flat[len(avg.Flat)-1])
	}
	cfg.NLayer = 2
	c, _ := model.New(cfg)
	if err := Average(avg, []*model.Model{a, c}, []string{"a", "c"}); err == nil || !strings.Contains(err.Error(), "member c") {
		t.Fatalf("another architecture: %v", err)
	}
}

func TestReadRanking(t *testing.T) {
	m := rankManifest()
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "results.json")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write(`{"results": {"rank_set": "ood_dev", "members": [
		{"name": "base", "rank": -1}, {"name": "m0", "rank": 2}, {"name": "m1", "rank": 0}, {"name": "m3", "rank": 1}]}}`)
	rank, set, err := m.ReadRanking(good)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rank, []int{1, 3, 0}) || set != "ood_dev" {
		t.Fatalf("rank %v by %q", rank, set)
	}
	for body, want := range map[string]string{
		`{"results": {"members": [{"name": "zz", "rank": 0}]}}`:                            `"zz" is not in the sweep`,
		`{"results": {"members": [{"name": "m0", "rank": 0}, {"name": "m1", "rank": 0}]}}`: "repeated rank",
		`{"results": {"members": [{"name": "m0", "rank": 0}, {"name": "m1", "rank": 1}]}}`: "no member has rank 2",
		`{"info": {}}`: "no results",
		`{"results": `: "unexpected end",
	} {
		if _, _, err := m.ReadRanking(write(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// TestAverageIntoPackedModel averages into a model packed for inference
// (what a holder that re-averages its members in place would do): the
// packed copy of the old weights is dropped, and the rewards are those of
// a fresh average.
func TestAverageIntoPackedModel(t *testing.T) {
	cfg := model.Config{VocabSize: 32, NPositions: 8, NEmbd: 16, NLayer: 2, NHead: 2, RewardHead: true}
	members := make([]*model.Model, 3)
	for k := range members {
		members[k], _ = model.New(cfg)
		members[k].InitWeights(uint64(10 + k))
	}
	names := []string{"a", "b", "c"}
	seqs := [][]int32{{3, 5, 7, 9, 11}, {2, 4, 6}}
	dst, err := NewAverage(members[:2], names[:2])
	if err != nil {
		t.Fatal(err)
	}
	dst.PackForInference()
	old, err := dst.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	if err := Average(dst, members[1:], names[1:]); err != nil {
		t.Fatal(err)
	}
	if dst.Packed() {
		t.Fatal("Average left the old weights packed")
	}
	fresh, err := NewAverage(members[1:], names[1:])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fresh.Rewards(seqs)
	got, err := dst.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || slices.Equal(got, old) {
		t.Fatalf("rewards after averaging into a packed model %v, want %v (before: %v)", got, want, old)
	}
}
