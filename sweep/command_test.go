package sweep

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// writeCkpt writes a checkpoint directory with config.json and the named
// F32 tensors (every element v).
func writeCkpt(t *testing.T, dir string, v float32, shapes map[string][]int) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	var ts []safetensors.Tensor
	for name, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = v
		}
		tt, err := safetensors.F32Tensor(name, shape, x)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleFileName), ts, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"qwen2"}`), 0o644)
}

var baseShapes = map[string][]int{"model.embed_tokens.weight": {64, 16}, "model.layers.0.mlp.up_proj.weight": {32, 16}, "lm_head.weight": {64, 16}}

// commandManifest is a three-member sweep whose members a stand-in trainer
// (a shell script) trains: it copies the base's weights and config into
// {out} and adds a reward head, writing its arguments beside them.
func commandManifest(t *testing.T, trainer string) (*Manifest, string) {
	t.Helper()
	dir := t.TempDir()
	writeCkpt(t, filepath.Join(dir, "base"), 1, baseShapes)
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte("{}\n"), 0o644)
	m := &Manifest{Version: Version, Out: "members", Base: "base", Train: "train.jsonl", Config: DefaultConfig()}
	if err := Plan(m, PlanOptions{M: 3, Inits: []string{"base"}, LRs: []float64{1e-5, 3e-5}, Dropouts: []float32{0, 0.1}, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	m.dir = dir
	if err := m.SetCommand(context.Background(), trainer); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return m, path
}

// standIn is a trainer that copies its init and records its arguments; it
// fails the member named by FAIL_MEMBER.
const standIn = `set -e; [ "${FAIL_MEMBER:-}" != {name} ]; mkdir -p {out}; cp {init}/config.json {out}/
printf '%s\n' {lr} {dropout} {seed} {data_seed} {steps} {train} > {out}/args.txt
cp {init}/model.safetensors {out}/model.safetensors`

func TestCommandTemplate(t *testing.T) {
	m, _ := commandManifest(t, "train --learning_rate {lr} --seed {seed} --output_dir {out} --model {init} # ${HOME} {x y}")
	line := m.RenderCommand(1)
	c := m.MemberConfig(1)
	for _, want := range []string{"--learning_rate " + m.CommandValues(1)["lr"], "--seed " + m.CommandValues(1)["seed"], "${HOME}", "{x y}",
		"--output_dir " + shellQuote(absPath(m.partialDir(1)))} {
		if !strings.Contains(line, want) {
			t.Errorf("rendered %q lacks %q", line, want)
		}
	}
	if m.CommandValues(1)["lr"] == "" || c.LR == 0 {
		t.Fatal("no learning rate")
	}
	for _, bad := range []string{"train --lr {learning_rate}", "train --head {head}"} {
		m.Command = bad
		if err := m.checkTemplate(); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	m.Command, m.BaseHash = "x", ""
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "base_hash") {
		t.Errorf("a command without base_hash: %v", err)
	}
}

// TestCommandPathsRelativeManifest: a manifest loaded by a relative path
// gives the trainer absolute paths that name the right files (each
// resolved against the manifest's directory once).
func TestCommandPathsRelativeManifest(t *testing.T) {
	_, path := commandManifest(t, standIn)
	dir := filepath.Dir(path)
	t.Chdir(filepath.Dir(dir))
	m, err := Load(filepath.Join(filepath.Base(dir), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := m.CommandValues(1)
	for name, want := range map[string]string{"train": filepath.Join(dir, "train.jsonl"), "init": filepath.Join(dir, "base"), "base": filepath.Join(dir, "base")} {
		if v[name] != want {
			t.Errorf("{%s} = %s, want %s", name, v[name], want)
		}
	}
	if want := "--out " + filepath.Join(dir, "members", "member-01.partial"); !strings.Contains(m.RenderCommand(1), shellQuote(filepath.Join(dir, "members", "member-01.partial"))) {
		t.Errorf("rendered %q, want %s", m.RenderCommand(1), want)
	}
}

// TestCommandMembers trains the three members with the stand-in trainer:
// the output is checked and renamed into place with a record, the states
// follow, a failure leaves a .failed note, a rerun skips done members, and
// the manifest's base changing stops every member.
func TestCommandMembers(t *testing.T) {
	m, _ := commandManifest(t, standIn)
	var out bytes.Buffer
	t.Setenv("FAIL_MEMBER", "member-02")
	_, err := Run(context.Background(), m, RunOptions{CommandOutput: &out})
	if err == nil || !strings.Contains(err.Error(), "member-02") || !strings.Contains(err.Error(), "trainer failed") {
		t.Fatalf("the failing member: %v", err)
	}
	want := []State{StateDone, StateDone, StateFailed}
	for i, st := range m.Status() {
		if st.State != want[i] {
			t.Errorf("member %d: %s (%s), want %s", i, st.State, st.Detail, want[i])
		}
	}
	var rec MemberRecord
	b, err := os.ReadFile(filepath.Join(m.MemberDir(1), RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &rec)
	if rec.BaseHash != m.BaseHash || !strings.HasPrefix(rec.Fingerprint, safetensors.FingerprintPrefix) || rec.Values["lr"] != m.CommandValues(1)["lr"] {
		t.Errorf("record %+v", rec)
	}
	args, _ := os.ReadFile(filepath.Join(m.MemberDir(1), "args.txt"))
	if got := strings.Fields(string(args)); len(got) != 6 || got[0] != m.CommandValues(1)["lr"] || got[5] != m.abs(m.Train) {
		t.Errorf("the trainer got %q", args)
	}
	if _, err := os.Stat(m.partialDir(1)); err == nil {
		t.Error("the .partial directory is left after success")
	}

	t.Setenv("FAIL_MEMBER", "")
	st, err := Run(context.Background(), m, RunOptions{CommandOutput: &out})
	if err != nil {
		t.Fatal(err)
	}
	if !st[0].Skipped || !st[1].Skipped || st[2].Skipped {
		t.Errorf("rerun: %+v", st)
	}
	for i, s := range m.Status() {
		if s.State != StateDone {
			t.Errorf("member %d: %s %s", i, s.State, s.Detail)
		}
	}

	// The base changes on disk: the members stay done (their records hold
	// the manifest's hash), but a member still to train refuses to start.
	writeCkpt(t, m.Path(m.Base), 2, baseShapes)
	os.RemoveAll(m.MemberDir(2))
	if _, err := Run(context.Background(), m, RunOptions{Members: []int{2}, CommandOutput: &out}); err == nil || !strings.Contains(err.Error(), "has changed") {
		t.Errorf("a member run after the base changed: %v", err)
	}
	// A manifest that records the new base makes the old members stale.
	if err := m.SetCommand(context.Background(), m.Command); err != nil {
		t.Fatal(err)
	}
	for i, s := range m.Status()[:2] {
		if s.State != StateStale || !strings.Contains(s.Detail, "trained from base") {
			t.Errorf("member %d after the manifest's base changed: %s %s", i, s.State, s.Detail)
		}
	}
}

// TestCheckDerived: the trainer's output must be a fine-tune of the base.
func TestCheckDerived(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	writeCkpt(t, base, 1, baseShapes)
	rm := map[string][]int{"model.embed_tokens.weight": {64, 16}, "model.layers.0.mlp.up_proj.weight": {32, 16}, "score.weight": {1, 16}}
	writeCkpt(t, filepath.Join(dir, "rm"), 1, rm)
	if _, err := checkDerived(context.Background(), base, filepath.Join(dir, "rm")); err != nil {
		t.Errorf("a reward model of the base: %v", err)
	}
	for name, shapes := range map[string]map[string][]int{
		"reshaped": {"model.embed_tokens.weight": {64, 8}, "score.weight": {1, 16}},
		"foreign":  {"transformer.wte.weight": {64, 16}},
		"big head": {"model.embed_tokens.weight": {64, 16}, "score.weight": {64, 16}},
	} {
		d := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		writeCkpt(t, d, 1, shapes)
		if _, err := checkDerived(context.Background(), base, d); err == nil {
			t.Errorf("%s checkpoint accepted", name)
		}
	}
	os.Remove(filepath.Join(dir, "rm", "config.json"))
	if _, err := checkDerived(context.Background(), base, filepath.Join(dir, "rm")); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("no config.json: %v", err)
	}
}

// TestCommandSlurm: the merge job of a command sweep skips merge's base
// fingerprint check (the manifest's hash stands in for it), and --no-report
// merges every member; --gpus reaches the member array.
func TestCommandSlurm(t *testing.T) {
	m, path := commandManifest(t, standIn)
	jobs, err := m.Slurm(path, SlurmOptions{Warm: "warm", GPUs: 2, NoReport: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(jobs.Members, "#SBATCH --gres=gpu:2") || strings.Contains(jobs.Head, "gres") {
		t.Errorf("gpus: %s\n%s", jobs.Members, jobs.Head)
	}
	if !strings.Contains(jobs.Merge, "--ignore-base-fingerprint") || strings.Contains(jobs.Merge, " report ") || !strings.Contains(jobs.Merge, m.abs(m.MemberDir(2))) {
		t.Errorf("merge script:\n%s", jobs.Merge)
	}
	if _, err := m.Slurm(path, SlurmOptions{Warm: "warm", NoReport: true, TopM: 2}); err == nil {
		t.Error("--no-report with a top M accepted")
	}
	kj, err := m.K8s(path, K8sOptions{Image: "warm:1", VolumeClaim: "sweeps", MountPath: filepath.Dir(path), NoReport: true})
	if err != nil {
		t.Fatal(err)
	}
	if script := strings.Join(kj.Merge.Spec.Template.Spec.Containers[0].Command, " "); !strings.Contains(script, "--ignore-base-fingerprint") || strings.Contains(script, " report ") {
		t.Errorf("k8s merge command: %s", script)
	}
}
