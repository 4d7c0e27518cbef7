package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/merge"
)

// TestRewardsOtherFamily: a sweep of Qwen2 reward models (as a --command
// manifest gathers from another trainer) is ranked here, best-of-N's
// rewards load as text reward models, WARM(2) scores as `warm merge` of the
// top two loaded by warm score would, ENS(2) is their mean, and Close
// removes the merged checkpoint.
func TestRewardsOtherFamily(t *testing.T) {
	path, err := llamatest.WriteSweep(t.TempDir(), 3, "../tokenizer/testdata/qwen2_bpe.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rs, err := OpenRewards(ctx, path, RankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Ranking) != 3 {
		t.Fatalf("ranking %v", rs.Ranking)
	}
	b := &Batch{Items: []Item{{PromptText: "post 1: the cat sat.", ResponseText: " a summary"}, {PromptText: "post 2: a dog.", ResponseText: " another one"}}}
	w, err := rs.Parse("warm:2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Score(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	top := []string{rs.Manifest.MemberDir(rs.Ranking[0]), rs.Manifest.MemberDir(rs.Ranking[1])}
	out := filepath.Join(t.TempDir(), "warm2")
	if _, err := merge.Run(ctx, out, top, merge.Options{IgnoreBaseFingerprint: true}); err != nil {
		t.Fatal(err)
	}
	ref, err := LoadTextRM("ref", out)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Score(ctx, b)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("WARM(2) %v, warm merge + score %v", got, want)
	}
	e, err := rs.Parse("ens:2")
	if err != nil {
		t.Fatal(err)
	}
	es, _ := e.Score(ctx, b)
	m0, _ := rs.Ranked(0)
	m1, _ := rs.Ranked(1)
	s0, _ := m0.Score(ctx, b)
	s1, _ := m1.Score(ctx, b)
	for i := range es {
		if d := es[i] - (s0[i]+s1[i])/2; d > 1e-12 || d < -1e-12 {
			t.Errorf("ENS(2) %v, members %v %v", es[i], s0[i], s1[i])
		}
	}
	tmp := rs.tmp
	if err := rs.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); err == nil {
		t.Error("Close left the merged checkpoint")
	}
}
