package sweep

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// fakeCheckpoint writes a one-tensor checkpoint with metadata md at dir.
func fakeCheckpoint(t *testing.T, dir string, md map[string]string) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	ts, _ := safetensors.F32Tensor("x", []int{1}, []float32{1})
	if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleFileName), []safetensors.Tensor{ts}, md); err != nil {
		t.Fatal(err)
	}
}

// statusManifest saves a planned manifest in a temporary directory with
// members in every state: 0 done, 1 stale (when stale), 2 failed, 3
// partial (step 40), 4 and 5 missing.
func statusManifest(t *testing.T, stale bool) (*Manifest, string) {
	t.Helper()
	m := plannedManifest(t)
	path := filepath.Join(t.TempDir(), "sweep", "manifest.json")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	hp := func(i int) string {
		b, _ := json.Marshal(map[string]any{"train": m.MemberConfig(i)})
		return string(b)
	}
	fakeCheckpoint(t, m.MemberDir(0), map[string]string{safetensors.MetaHParams: hp(0)})
	if stale {
		fakeCheckpoint(t, m.MemberDir(1), map[string]string{safetensors.MetaHParams: hp(0)})
	}
	os.WriteFile(m.MemberDir(2)+".failed", []byte("sweep: member member-02: out of memory\n"), 0o644)
	fakeCheckpoint(t, m.MemberDir(3)+".state", map[string]string{safetensors.MetaStep: "40"})
	return m, path
}

func TestStatus(t *testing.T) {
	m, _ := statusManifest(t, true)
	want := []State{StateDone, StateStale, StateFailed, StatePartial, StateMissing, StateMissing}
	for i, st := range m.Status() {
		if st.State != want[i] {
			t.Errorf("member %d: %s (%s), want %s", i, st.State, st.Detail, want[i])
		}
	}
	if st := m.Status()[3]; st.Step != 40 {
		t.Errorf("partial member at step %d, want 40", st.Step)
	}
	if st := m.Status()[2]; !strings.Contains(st.Detail, "out of memory") {
		t.Errorf("failed member's detail %q", st.Detail)
	}
	if _, err := m.Slurm("x.json", SlurmOptions{Warm: "warm"}); err == nil || !strings.Contains(err.Error(), "member-01") {
		t.Errorf("a stale member did not stop the submission: %v", err)
	}
}

// TestSlurmSubmit submits through a stand-in sbatch that records its
// arguments: the array holds only the members not done, and the jobs
// depend on each other in order.
func TestSlurmSubmit(t *testing.T) {
	m, path := statusManifest(t, false)
	jobs, err := m.Slurm(path, SlurmOptions{Warm: "/opt/warm", Partition: "cpu", Time: "01:00:00", Mem: "8G", CPUs: 4, Extra: []string{"--gres=gpu:1"}, TopM: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := joinInts(jobs.Array); got != "1,2,3,4,5" {
		t.Errorf("array %s, want the members not done (1,2,3,4,5)", got)
	}
	for _, want := range []string{"#SBATCH --array=1,2,3,4,5", "#SBATCH --partition=cpu", "#SBATCH --time=01:00:00", "#SBATCH --mem=8G",
		"#SBATCH --cpus-per-task=4", "#SBATCH --gres=gpu:1", `--member "$SLURM_ARRAY_TASK_ID" --resume`, "--threads 4", "WARM=/opt/warm"} {
		if !strings.Contains(jobs.Members, want) {
			t.Errorf("members.sbatch lacks %q:\n%s", want, jobs.Members)
		}
	}
	if !strings.Contains(jobs.Head, "--head-only") || !strings.Contains(jobs.Merge, "sweep top") || !strings.Contains(jobs.Merge, "-m 3") {
		t.Errorf("head or merge script:\n%s\n%s", jobs.Head, jobs.Merge)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "sbatch")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\nn=$(wc -l < "+log+")\necho \"$((100 + n));cluster\"\n"), 0o755)
	head, members, merge, err := jobs.Submit(fake)
	if err != nil {
		t.Fatal(err)
	}
	if head != "101" || members != "102" || merge != "103" {
		t.Errorf("job ids %s %s %s", head, members, merge)
	}
	calls, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	want := []string{"--parsable " + filepath.Join(jobs.Dir, "head.sbatch"),
		"--parsable --dependency=afterok:101 " + filepath.Join(jobs.Dir, "members.sbatch"),
		"--parsable --dependency=afterok:102 " + filepath.Join(jobs.Dir, "merge.sbatch")}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("sbatch calls:\n%s\nwant\n%s", calls, strings.Join(want, "\n"))
	}
	for _, f := range []string{"head.sbatch", "members.sbatch", "merge.sbatch"} {
		if _, err := os.Stat(filepath.Join(jobs.Dir, f)); err != nil {
			t.Error(err)
		}
	}
	os.WriteFile(fake, []byte("#!/bin/sh\necho 'sbatch: error: invalid partition' >&2\nexit 1\n"), 0o755)
	if _, _, _, err := jobs.Submit(fake); err == nil || !strings.Contains(err.Error(), "invalid partition") {
		t.Errorf("a refused submission: %v", err)
	}
}
