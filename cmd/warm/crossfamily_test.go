package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/policy"
)

// TestCrossFamily passes samples between families as text: best-of-N of
// warm's GPT-2 policy judged by a Qwen2 reward model, of a Llama policy
// judged by warm's GPT-2 reward model, RL of the GPT-2 policy against the
// Qwen2 reward, and warm score / eval / generate on Llama-family
// checkpoints.
func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCrossFamily(t *testing.T) {
	dir := t.TempDir()
	tinyPolicySetup(t, dir)
	p := func(s string) string { return filepath.Join(dir, s) }
	qwenRM, llamaLM := p("qwen2-rm"), p("llama-lm")
	if err := llamatest.Write(qwenRM, llamatest.Options{Family: "qwen2", Vocab: 700, Tokenizer: "../../tokenizer/testdata/qwen2_bpe.json", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if err := llamatest.Write(llamaLM, llamatest.Options{Family: "llama", CausalLM: true, Vocab: 700, EOS: 649, Tokenizer: "../../tokenizer/testdata/llama3_bpe.json", Seed: 2}); err != nil {
		t.Fatal(err)
	}
	common := []string{"--prompts", p("data/prompts.jsonl"), "--max-tokens", "6", "--max-prompts", "3", "--ref-samples", "2", "--max-n", "2"}
	out, err := runCmd(t, newBoNCmd(), append([]string{"--policy", p("sft"), "--rewards", "rm:" + qwenRM, "--control", "gold", "-o", p("bon-q")}, common...)...)
	if err != nil {
		t.Fatalf("bon with a Qwen2 reward: %v\n%s", err, out)
	}
	member := p("sweep/members/member-00")
	out, err = runCmd(t, newBoNCmd(), append([]string{"--policy", llamaLM, "--rewards", "rm:" + member, "--control", "rm:" + qwenRM, "-o", p("bon-l")}, common...)...)
	if err != nil {
		t.Fatalf("bon of a Llama policy: %v\n%s", err, out)
	}
	var bon policy.BoNResult
	raw, _ := os.ReadFile(p("bon-l/bon.json"))
	if err := json.Unmarshal(raw, &bon); err != nil || len(bon.Curves) != 1 {
		t.Fatalf("bon.json: %v, %d curves", err, len(bon.Curves))
	}
	out, err = runCmd(t, newRLCmd(), "--policy", p("sft"), "--reward", "rm:"+qwenRM, "--prompts", p("data/prompts.jsonl"), "--max-tokens", "6",
		"--steps", "2", "--save-every", "2", "--eval-prompts", "2", "--prompts-per-step", "2", "--samples-per-prompt", "2", "-o", p("rl-q"))
	if err != nil {
		t.Fatalf("rl against a Qwen2 reward: %v\n%s", err, out)
	}
	recs := p("recs.jsonl")
	os.WriteFile(recs, []byte(`{"text": "the boat was sold"}`+"\n"+`{"prompt": "the boat", "response": " was sold"}`+"\n"+`{"input_ids": [5, 6, 7]}`+"\n"), 0o644)
	if out, err := runCmd(t, newScoreCmd(), "--model", qwenRM, recs, "-o", p("rewards.jsonl")); err != nil {
		t.Fatalf("score: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(readFile(t, p("rewards.jsonl"))), "\n")
	var r0, r1 struct{ Reward *float64 }
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &r0) != nil || json.Unmarshal([]byte(lines[1]), &r1) != nil || r0.Reward == nil || *r0.Reward != *r1.Reward {
		t.Errorf("score output %q", lines)
	}
	os.WriteFile(recs, []byte(`{"text": "fine"}`+"\n"+`{"input_ids": [5, 7000]}`+"\n"), 0o644)
	if _, err := runCmd(t, newScoreCmd(), "--model", qwenRM, recs, "-o", p("bad.jsonl")); err == nil || !strings.Contains(err.Error(), "recs.jsonl:2") {
		t.Errorf("score of an id outside the vocabulary: %v", err)
	}
	if _, err := os.Stat(p("bad.jsonl")); err == nil {
		t.Error("a failed score wrote its output")
	}
	if out, err := runCmd(t, newEvalCmd(), "--model", qwenRM, "--model", member, p("data/ood_dev.jsonl")); err != nil {
		t.Errorf("eval of a Qwen2 and a GPT-2 reward model: %v\n%s", err, out)
	}
	if out, err := runCmd(t, newGenerateCmd(), "--model", llamaLM, "--prompt", "the boat", "--max-tokens", "4", "--json"); err != nil {
		t.Errorf("generate from a Llama policy: %v\n%s", err, out)
	}
	if _, err := runCmd(t, newRLCmd(), "--policy", llamaLM, "--reward", "rm:"+member, "--prompts", p("data/prompts.jsonl"), "--max-tokens", "6",
		"--steps", "2", "--eval-prompts", "2", "--prompts-per-step", "2", "-o", p("rl-l")); err == nil || !strings.Contains(err.Error(), "GPT-2") {
		t.Errorf("rl of a Llama policy: %v, want an error saying RL trains GPT-2 only", err)
	}
}
