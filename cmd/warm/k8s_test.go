package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/sweep"
)

// k8sManifest saves a planned 3-member sweep under a temporary directory
// and returns the directory (the volume's mount path) and the manifest.
func k8sManifest(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	m := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "base", Head: "head", Train: "train.jsonl", Config: sweep.DefaultConfig()}
	if err := sweep.Plan(m, sweep.PlanOptions{M: 3, Inits: []string{"a"}, LRs: []float64{1e-4}, Dropouts: []float32{0}, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "exp", "manifest.json")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	return root, path
}

// TestSweepSubmitK8s runs warm sweep submit --k8s through the CLI: the
// scheduler choice, --dry-run, the files written and the kubectl commands
// printed, --apply through a stand-in kubectl, and the flags' errors.
func TestSweepSubmitK8s(t *testing.T) {
	root, path := k8sManifest(t)
	k8s := []string{"submit", path, "--k8s", "--image", "warm:1", "--volume-claim", "data", "--mount-path", root,
		"--node-selector", "pool=cpu", "--cpus", "3", "--mem", "4Gi", "--gpus", "1"}
	if _, err := runCmd(t, newSweepSubmitCmd(), append(k8s[1:], "--slurm")...); err == nil || !strings.Contains(err.Error(), "--slurm or --k8s") {
		t.Errorf("--slurm and --k8s: %v", err)
	}
	if _, err := runCmd(t, newSweepSubmitCmd(), path); err == nil || !strings.Contains(err.Error(), "--slurm or --k8s") {
		t.Errorf("no scheduler: %v", err)
	}
	out, err := runCmd(t, newSweepSubmitCmd(), append(k8s[1:], "--dry-run")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"completionMode: Indexed", "completions: 3", "value: 0,1,2", "claimName: data", "pool: cpu", `cpu: "3"`, "memory: 4Gi", `nvidia.com/gpu: "1"`, "image: warm:1"} {
		if !strings.Contains(out, want) {
			t.Errorf("--dry-run lacks %q:\n%s", want, out)
		}
	}
	k8sDir := filepath.Join(filepath.Dir(path), "k8s")
	if _, err := os.Stat(k8sDir); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote %s: %v", k8sDir, err)
	}
	out, err = runCmd(t, newSweepSubmitCmd(), k8s[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"head.yaml", "members.yaml", "merge.yaml"} {
		p := filepath.Join(k8sDir, f)
		if !strings.Contains(out, "kubectl apply -f "+p) {
			t.Errorf("no kubectl command for %s:\n%s", f, out)
		}
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "calls")
	kubectl := filepath.Join(bin, "kubectl")
	os.WriteFile(kubectl, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\necho created\n"), 0o755)
	if _, err := runCmd(t, newSweepSubmitCmd(), append(k8s[1:], "--apply", "--kubectl", kubectl)...); err != nil {
		t.Fatal(err)
	}
	if calls, _ := os.ReadFile(log); strings.Count(string(calls), "apply -f ") != 3 {
		t.Errorf("kubectl calls:\n%s", calls)
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"--mount-path", "/nowhere", "not under the mount path /nowhere"},
		{"--node-selector", "pool", "want KEY=VALUE"},
		{"--image", "", "--image"},
	} {
		args := append(append([]string{}, k8s[1:]...), bad.flag, bad.value)
		if _, err := runCmd(t, newSweepSubmitCmd(), args...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %q: %v, want %q", bad.flag, bad.value, err, bad.want)
		}
	}
}

// TestSweepWaitK8s: warm sweep wait times out on a missing head, with a
// message, and returns once it exists.
func TestSweepWaitK8s(t *testing.T) {
	_, path := k8sManifest(t)
	_, err := runCmd(t, newSweepWaitCmd(), path, "--head", "--timeout", "50ms", "--interval", "10ms")
	if err == nil || !strings.Contains(err.Error(), "waited 50ms for the shared head") {
		t.Errorf("no head: %v", err)
	}
	if _, err := runCmd(t, newSweepWaitCmd(), path, "--head", "--members"); err == nil {
		t.Error("--head and --members together: no error")
	}
	if _, err := runCmd(t, newSweepWaitCmd(), path, "--since", "yesterday"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("a bad --since: %v", err)
	}
	os.MkdirAll(filepath.Join(filepath.Dir(path), "head"), 0o755)
	if _, err := runCmd(t, newSweepWaitCmd(), path, "--head", "--timeout", "5s", "--interval", "10ms"); err != nil {
		t.Errorf("head there: %v", err)
	}
	_, err = runCmd(t, newSweepWaitCmd(), path, "--timeout", "30ms", "--interval", "10ms")
	if err == nil || !strings.Contains(err.Error(), "0 of 3 members done") {
		t.Errorf("no member done: %v", err)
	}
}
