package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/sweep"
)

// TestRewardsOtherFamily: a sweep of Qwen2 reward models (as a --command
// manifest gathers from another trainer) is ranked here, best-of-N's
// rewards load as text reward models, WARM(2) scores as `warm merge` of the
// top two loaded by warm score would, ENS(2) is their mean, and Close
// removes the merged checkpoint.
func TestRewardsOtherFamily(t *testing.T) {
	dir := t.TempDir()
	for k := range 3 {
		if err := llamatest.Write(filepath.Join(dir, "members", fmt.Sprintf("member-%02d", k)), llamatest.Options{Vocab: 700, Tokenizer: "../tokenizer/testdata/qwen2_bpe.json", Seed: uint64(k + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	var lines []string
	for i := range 30 {
		b, _ := json.Marshal(map[string]string{"prompt": fmt.Sprintf("post %d: the cat sat.", i), "chosen": fmt.Sprintf(" a summary %d", i%7), "rejected": fmt.Sprintf(" another %d", i%5)})
		lines = append(lines, string(b))
	}
	os.WriteFile(filepath.Join(dir, "pairs.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	man := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "members/member-00", Train: "pairs.jsonl",
		Command: "train {out}", BaseHash: "wfp1:x", Config: sweep.DefaultConfig(), Eval: []sweep.EvalSet{{Name: "ood_dev", Path: "pairs.jsonl"}}}
	for k := range 3 {
		man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("member-%02d", k), Init: "members/member-00", LR: 1e-5, Role: "random"})
	}
	path := filepath.Join(dir, "manifest.json")
	if err := man.Save(path); err != nil {
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
