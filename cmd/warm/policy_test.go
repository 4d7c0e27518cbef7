package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/scorer"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/tokenizer"
	"github.com/warm-rm/warm/train"
)

// tinyTask writes a tiny synthetic task with trainPairs training pairs into
// dir/data and returns it with a 300-token tokenizer trained on its corpus.
func tinyTask(t *testing.T, dir string, trainPairs int) (*synth.Task, *tokenizer.Tokenizer) {
	t.Helper()
	ctx := context.Background()
	cfg := synth.DefaultConfig()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = trainPairs, 8, 16, 8
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 12, 8, 10_000
	task, err := synth.Generate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.WriteDir(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Train(ctx, slices.Values(task.Corpus), tokenizer.TrainConfig{VocabSize: 300})
	if err != nil {
		t.Fatal(err)
	}
	return task, tok
}

// tinyPolicySetup writes a tiny synthetic task, a random SFT policy and a
// sweep of two random reward models into dir.
func tinyPolicySetup(t *testing.T, dir string) {
	t.Helper()
	_, tok := tinyTask(t, dir, 32)
	newModel := func(reward bool, seed uint64) *model.Model {
		m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 64, NEmbd: 16, NLayer: 1, NHead: 2, PadID: tok.Pad(), RewardHead: reward})
		if err != nil {
			t.Fatal(err)
		}
		m.InitWeights(seed)
		return m
	}
	if err := checkpoint.Save(filepath.Join(dir, "sft"), &checkpoint.Checkpoint{Model: newModel(false, 1), Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleSFT}}, false); err != nil {
		t.Fatal(err)
	}
	man := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "base", Head: "head", Train: "../data/train.jsonl",
		Config: train.DefaultConfig(), Eval: []sweep.EvalSet{{Name: "ood_dev", Path: "../data/ood_dev.jsonl"}}}
	for i := 0; i < 2; i++ {
		man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("member-%02d", i), Init: "sft", LR: 1e-4})
	}
	path := filepath.Join(dir, "sweep", "manifest.json")
	os.MkdirAll(filepath.Join(dir, "sweep", "members"), 0o755)
	if err := man.Save(path); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		d := filepath.Join(dir, "sweep", "members", man.Members[i].Name)
		if err := checkpoint.Save(d, &checkpoint.Checkpoint{Model: newModel(true, uint64(5+i)), Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleRM}}, false); err != nil {
			t.Fatal(err)
		}
	}
}

func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestPolicyCommands runs bon, rl, rl compare and winrate end to end on a
// tiny random model.
func TestPolicyCommands(t *testing.T) {
	dir := t.TempDir()
	tinyPolicySetup(t, dir)
	p := func(s string) string { return filepath.Join(dir, s) }
	common := []string{"--sweep", p("sweep/manifest.json"), "--prompts", p("data/prompts.jsonl"), "--max-tokens", "8"}

	out, err := runCmd(t, newBoNCmd(), append([]string{"--policy", p("sft"), "--max-n", "4", "--ref-samples", "2", "--max-prompts", "4",
		"--rewards", "best,ens:2,warm:2,gold", "-o", p("bon")}, common...)...)
	if err != nil {
		t.Fatalf("bon: %v\n%s", err, out)
	}
	var bon policy.BoNResult
	raw, err := os.ReadFile(p("bon/bon.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &bon); err != nil {
		t.Fatal(err)
	}
	if len(bon.Curves) != 4 || len(bon.Comparisons) != 4 || bon.Ns[len(bon.Ns)-1] != 4 {
		t.Errorf("bon: %d curves, %d comparisons, Ns %v", len(bon.Curves), len(bon.Comparisons), bon.Ns)
	}
	for _, f := range []string{"bon.md", "bon_control.png", "bon_control.svg", "bon_winrate.png"} {
		if _, err := os.Stat(p("bon/" + f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := runCmd(t, newBoNCmd(), append([]string{"--policy", p("sft"), "--max-n", "4", "-o", p("bon")}, common...)...); err == nil {
		t.Error("bon overwrote its output without --force")
	}
	if _, err := runCmd(t, newBoNCmd(), append([]string{"--policy", p("sft"), "--max-n", "4", "--rewards", "best", "--compare", "warm:2=best", "-o", p("bon2")}, common...)...); err == nil {
		t.Error("a comparison of a reward not asked for was accepted")
	}

	rl := func(reward, run string) {
		out, err := runCmd(t, newRLCmd(), append([]string{"--policy", p("sft"), "--reward", reward, "--steps", "4", "--save-every", "2",
			"--eval-prompts", "2", "--prompts-per-step", "2", "--samples-per-prompt", "2", "--lr", "1e-3", "-o", p(run)}, common...)...)
		if err != nil {
			t.Fatalf("rl %s: %v\n%s", reward, err, out)
		}
	}
	rl("warm:2", "rl-warm")
	rl("best", "rl-best")
	res, err := policy.ReadRLResult(p("rl-warm"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || len(res.Steps) != 4 || len(res.Evals) != 3 || res.Reward != "warm2" || len(res.Members) != 2 {
		t.Errorf("rl result: done %v, %d steps, %d evals, reward %s, members %v", res.Done, len(res.Steps), len(res.Evals), res.Reward, res.Members)
	}
	if out, err := runCmd(t, newRLCmd(), "compare", "-o", p("rlcmp"), p("rl-warm"), p("rl-best")); err != nil || !strings.Contains(out, "warm2") {
		t.Errorf("rl compare: %v\n%s", err, out)
	}
	out, err = runCmd(t, newWinRateCmd(), p("rl-warm"), p("rl-best"), "--sft", p("sft"), "--prompts", p("data/prompts.jsonl"),
		"--max-prompts", "3", "--n", "2", "--max-tokens", "8", "-o", p("wr"))
	if err != nil {
		t.Fatalf("winrate: %v\n%s", err, out)
	}
	var tab policy.RunsTable
	raw, _ = os.ReadFile(p("wr/winrate.json"))
	if err := json.Unmarshal(raw, &tab); err != nil || len(tab.Rows) != 2 || tab.Rows[1].Step != 4 || tab.Rows[0].AvsSFT == nil {
		t.Errorf("winrate table %+v: %v", tab, err)
	}
	// A second control judging the same samples in the same invocation
	// gives what a run of its own gives, and the first control's results
	// do not change.
	rm := "rm:" + p("sweep/members/member-01")
	wr := func(extra ...string) {
		t.Helper()
		args := append([]string{p("rl-warm"), p("rl-best"), "--sft", p("sft"), "--prompts", p("data/prompts.jsonl"),
			"--max-prompts", "3", "--n", "2", "--max-tokens", "8"}, extra...)
		if out, err := runCmd(t, newWinRateCmd(), args...); err != nil {
			t.Fatalf("winrate %v: %v\n%s", extra, err, out)
		}
	}
	wr("--control", rm, "-o", p("wr-rm"))
	wr("-o", p("wr-both"), "--also-control", rm+"="+p("wr-both-rm"))
	for _, pair := range [][2]string{{"wr", "wr-both"}, {"wr-rm", "wr-both-rm"}} {
		one, _ := os.ReadFile(p(pair[0] + "/winrate.json"))
		both, _ := os.ReadFile(p(pair[1] + "/winrate.json"))
		if len(one) == 0 || !bytes.Equal(one, both) {
			t.Errorf("%s and %s differ:\n%s\n%s", pair[0], pair[1], one, both)
		}
	}
	// A language model's likelihood as the judge (fluency:DIR): mean
	// log-probabilities, so every control mean is negative.
	wr("-o", p("wr-fl"), "--also-control", "fluency:"+p("sft")+"="+p("wr-fl-judge"))
	var fl policy.RunsTable
	raw, _ = os.ReadFile(p("wr-fl-judge/winrate.json"))
	if err := json.Unmarshal(raw, &fl); err != nil || fl.Control != "fluency-sft" || len(fl.Rows) != 2 ||
		fl.Rows[1].AvsB.ControlA >= 0 || fl.Rows[1].AvsB.ControlB >= 0 || fl.Rows[0].AvsSFT == nil {
		t.Errorf("winrate judged by fluency:sft: %+v: %v", fl, err)
	}
	// warm eval with the same judge on preference pairs.
	if out, err := runCmd(t, newEvalCmd(), "--model", "fluency:"+p("sft"), "--model", p("sweep/members/member-01"), p("data/test.jsonl"), "--json", p("eval-fl.json")); err != nil {
		t.Errorf("eval --model fluency:: %v\n%s", err, out)
	}
	raw, _ = os.ReadFile(p("eval-fl.json"))
	var ev struct {
		Results []evalRow   `json:"results"`
		Paired  []pairedRow `json:"paired"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Results) != 2 || len(ev.Paired) != 1 || ev.Results[0].Summary.Chosen.Mean >= 0 {
		t.Errorf("eval judged by fluency: %s: %v", raw, err)
	}
	if _, err := runCmd(t, newEvalCmd(), "--model", "fluency:"+p("sft"), "--max-len", "8", p("data/test.jsonl")); err == nil || !strings.Contains(err.Error(), "--max-len") {
		t.Errorf("eval fluency with --max-len: %v", err)
	}
	// warm score with the same judge: one score a record, the judge's own.
	recs := `{"prompt": "the cat", "response": " sat on the mat"}` + "\n" + `{"text": "a dog ate the bone", "id": 7}` + "\n"
	if err := os.WriteFile(p("recs.jsonl"), []byte(recs), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(t, newScoreCmd(), "--model", "fluency:"+p("sft"), p("recs.jsonl"), "-o", p("recs-fl.jsonl")); err != nil {
		t.Fatalf("score --model fluency:: %v\n%s", err, out)
	}
	judge, err := scorer.LoadFluency(p("sft"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := judge.Score(context.Background(), []string{"the cat", ""}, []string{" sat on the mat", "a dog ate the bone"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(p("recs-fl.jsonl"))
	if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 2 ||
		lines[0] != fmt.Sprintf(`{"reward": %s}`, strconv.FormatFloat(want[0], 'g', -1, 64)) ||
		lines[1] != fmt.Sprintf(`{"reward": %s}`, strconv.FormatFloat(want[1], 'g', -1, 64)) {
		t.Errorf("score --model fluency: wrote %q, the judge gives %v", raw, want)
	}
	for _, bad := range []struct{ rec, want string }{
		{`{"messages": [{"role": "user", "content": "hi"}]}`, "recs-bad.jsonl:2: a conversation"},
		{`{"input_ids": [1, 2]}`, "recs-bad.jsonl:2: token ids"},
	} {
		if err := os.WriteFile(p("recs-bad.jsonl"), []byte(`{"text": "fine"}`+"\n"+bad.rec+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := runCmd(t, newScoreCmd(), "--model", "fluency:"+p("sft"), p("recs-bad.jsonl"), "-o", p("recs-bad-out.jsonl")); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("score --model fluency: on %s: %v, want an error naming %q", bad.rec, err, bad.want)
		}
		if _, err := os.Stat(p("recs-bad-out.jsonl")); !os.IsNotExist(err) {
			t.Errorf("score --model fluency: on %s wrote its output", bad.rec)
		}
	}
	if one, _ := os.ReadFile(p("wr/winrate.json")); bytes.Equal(one, func() []byte { b, _ := os.ReadFile(p("wr-rm/winrate.json")); return b }()) {
		t.Error("the two controls gave the same table: the test cannot tell them apart")
	}
	if _, err := runCmd(t, newWinRateCmd(), p("rl-warm"), p("rl-best"), "--prompts", p("data/prompts.jsonl"), "--also-control", rm); err == nil ||
		!strings.Contains(err.Error(), "SPEC=DIR") {
		t.Errorf("--also-control without a directory: %v", err)
	}
	if _, err := runCmd(t, newWinRateCmd(), p("rl-warm"), p("rl-best"), "--prompts", p("data/prompts.jsonl"), "--also-control", rm+"="+p("wr-rm")); err == nil ||
		!strings.Contains(err.Error(), "exists") {
		t.Errorf("--also-control over an existing directory: %v", err)
	}
	out, err = runCmd(t, newWinRateCmd(), p("sft"), p("sft"), "--prompts", p("data/prompts.jsonl"), "--n", "1", "--max-tokens", "8")
	if err != nil || !strings.Contains(out, "0.500") {
		t.Errorf("winrate of a policy against itself: %v\n%s", err, out)
	}
	if _, err := runCmd(t, newWinRateCmd(), p("sft"), p("rl-best"), "--prompts", p("data/prompts.jsonl")); err == nil {
		t.Error("a checkpoint compared with an RL run")
	}
}
