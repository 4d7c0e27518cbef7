package sweep

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/warm-rm/warm/safetensors"
)

// k8sOptions are the options of the tests, the volume mounted at mount.
func k8sOptions(mount string) K8sOptions {
	return K8sOptions{Image: "ghcr.io/warm-rm/warm:test", VolumeClaim: "sweep-data", MountPath: mount, Namespace: "rm",
		CPUs: 4, Mem: "8Gi", GPUs: 1, JobName: "exp1", ServiceAccount: "trainer", NodeSelector: map[string]string{"pool": "cpu"},
		Parallelism: 2, BackoffLimit: 1, TopM: 3, SaveEvery: 7, WaitTimeout: time.Hour}
}

// decodeJobs decodes every file strictly (no unknown field) into a Job.
func decodeJobs(t *testing.T, jobs *K8sJobs) map[string]*batchv1.Job {
	t.Helper()
	out := map[string]*batchv1.Job{}
	for _, f := range jobs.Files {
		var j batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(f.Text), &j); err != nil {
			t.Fatalf("%s: %v\n%s", f.Name, err, f.Text)
		}
		if j.APIVersion != "batch/v1" || j.Kind != "Job" {
			t.Errorf("%s: %s %s, want batch/v1 Job", f.Name, j.APIVersion, j.Kind)
		}
		out[f.Name] = &j
	}
	return out
}

// TestK8sJobs decodes the three Jobs back into the Kubernetes types and
// checks what each pod runs, mounts and asks for.
func TestK8sJobs(t *testing.T) {
	m, path := statusManifest(t, false) // 0 done; 1, 2 (failed), 3 (partial), 4, 5 to train
	mount := filepath.Dir(filepath.Dir(path))
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	o := k8sOptions(mount)
	o.Now = now
	jobs, err := m.K8s(path, o)
	if err != nil {
		t.Fatal(err)
	}
	if got := joinInts(jobs.Todo); got != "1,2,3,4,5" {
		t.Errorf("members to train %s, want 1,2,3,4,5", got)
	}
	var names []string
	for _, f := range jobs.Files {
		names = append(names, f.Name)
		if !strings.Contains(f.Text, "no dependency between Jobs") && f.Name != "head.yaml" {
			t.Errorf("%s does not say Kubernetes orders no Jobs:\n%s", f.Name, f.Text)
		}
	}
	if strings.Join(names, " ") != "head.yaml members.yaml merge.yaml" {
		t.Errorf("files %v", names)
	}
	js := decodeJobs(t, jobs)
	head, members, merge := js["head.yaml"], js["members.yaml"], js["merge.yaml"]
	for name, j := range js {
		want := "exp1-" + strings.TrimSuffix(name, ".yaml")
		if j.Name != want || j.Namespace != "rm" {
			t.Errorf("%s: job %s/%s, want rm/%s", name, j.Namespace, j.Name, want)
		}
		pod := j.Spec.Template.Spec
		if pod.RestartPolicy != corev1.RestartPolicyNever || pod.ServiceAccountName != "trainer" || pod.NodeSelector["pool"] != "cpu" {
			t.Errorf("%s: restart %s, service account %q, node selector %v", name, pod.RestartPolicy, pod.ServiceAccountName, pod.NodeSelector)
		}
		if len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "sweep-data" {
			t.Errorf("%s: volumes %+v", name, pod.Volumes)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers", name, len(pod.Containers))
		}
		for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
			if c.Image != o.Image {
				t.Errorf("%s: container %s image %q", name, c.Name, c.Image)
			}
			if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != pod.Volumes[0].Name || c.VolumeMounts[0].MountPath != mount {
				t.Errorf("%s: container %s mounts %+v, want %s at %s", name, c.Name, c.VolumeMounts, pod.Volumes[0].Name, mount)
			}
		}
		c := pod.Containers[0]
		res := c.Resources
		for _, rl := range []corev1.ResourceList{res.Requests, res.Limits} {
			if q := rl[corev1.ResourceCPU]; q.Cmp(resource.MustParse("4")) != 0 {
				t.Errorf("%s: cpu %s, want 4", name, q.String())
			}
			if q := rl[corev1.ResourceMemory]; q.Cmp(resource.MustParse("8Gi")) != 0 {
				t.Errorf("%s: memory %s, want 8Gi", name, q.String())
			}
		}
		if q := res.Limits["nvidia.com/gpu"]; q.Value() != 1 {
			t.Errorf("%s: nvidia.com/gpu limit %s, want 1", name, q.String())
		}
		if len(c.Command) != 3 || c.Command[0] != "/bin/bash" || !strings.Contains(c.Command[2], "MANIFEST="+path) || !strings.Contains(c.Command[2], "--threads 4") {
			t.Errorf("%s: command %q", name, c.Command)
		}
		if pfp := j.Spec.PodFailurePolicy; pfp == nil || len(pfp.Rules) != 1 || pfp.Rules[0].Action != batchv1.PodFailurePolicyActionIgnore ||
			pfp.Rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget {
			t.Errorf("%s: pod failure policy %+v, want disruptions ignored", name, pfp)
		}
	}
	if s := members.Spec; s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || *s.Completions != 5 ||
		s.Parallelism == nil || *s.Parallelism != 2 || s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 1 || s.BackoffLimit != nil {
		t.Errorf("member Job spec: mode %v completions %v parallelism %v backoff per index %v backoff %v",
			s.CompletionMode, s.Completions, s.Parallelism, s.BackoffLimitPerIndex, s.BackoffLimit)
	}
	if head.Spec.CompletionMode != nil || head.Spec.BackoffLimit == nil || *head.Spec.BackoffLimit != 1 || len(head.Spec.Template.Spec.InitContainers) != 0 {
		t.Errorf("head Job spec %+v", head.Spec)
	}
	if !strings.Contains(head.Spec.Template.Spec.Containers[0].Command[2], "exec \"$WARM\" --threads 4 sweep run \"$MANIFEST\" --head-only") {
		t.Errorf("head command %q", head.Spec.Template.Spec.Containers[0].Command[2])
	}
	wantWait := map[string][]string{
		"members": {"warm", "sweep", "wait", path, "--timeout", "1h0m0s", "--head"},
		"merge":   {"warm", "sweep", "wait", path, "--timeout", "1h0m0s", "--members", "--since", "2026-12-02T10:00:00Z"},
	}
	for name, j := range map[string]*batchv1.Job{"members": members, "merge": merge} {
		ic := j.Spec.Template.Spec.InitContainers
		if len(ic) != 1 || !slices.Equal(ic[0].Command, wantWait[name]) {
			t.Errorf("%s: init containers %+v, want one running %q", name, ic, wantWait[name])
		}
	}
	if c := merge.Spec.Template.Spec.Containers[0].Command[2]; !strings.Contains(c, "sweep top \"$MANIFEST\" -m 3") || !strings.Contains(c, "report \"$MANIFEST\" -o "+filepath.Join(filepath.Dir(path), "report")) {
		t.Errorf("merge command %q", c)
	}
	// The parallelism defaults to every member at once.
	o.Parallelism = 0
	jobs, err = m.K8s(path, o)
	if err != nil {
		t.Fatal(err)
	}
	if p := decodeJobs(t, jobs)["members.yaml"].Spec.Parallelism; p == nil || *p != 5 {
		t.Errorf("default parallelism %v, want 5", p)
	}
}

// TestK8sMemberIndex runs the member container's command with bash and a
// stand-in warm that prints its arguments: index k trains the k-th member
// not done, and an index outside the list fails.
func TestK8sMemberIndex(t *testing.T) {
	m, path := statusManifest(t, false)
	jobs, err := m.K8s(path, k8sOptions(filepath.Dir(filepath.Dir(path))))
	if err != nil {
		t.Fatal(err)
	}
	c := decodeJobs(t, jobs)["members.yaml"].Spec.Template.Spec.Containers[0]
	if len(c.Env) != 1 || c.Env[0].Name != "WARM_MEMBERS" {
		t.Fatalf("member env %+v, want WARM_MEMBERS", c.Env)
	}
	bin := t.TempDir()
	os.WriteFile(filepath.Join(bin, "warm"), []byte("#!/bin/sh\necho \"$@\"\n"), 0o755)
	run := func(index, members string) (string, error) {
		cmd := exec.Command(c.Command[0], c.Command[1:]...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "WARM_MEMBERS="+members)
		if index != "unset" {
			cmd.Env = append(cmd.Env, "JOB_COMPLETION_INDEX="+index)
		}
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for k, member := range []int{1, 2, 3, 4, 5} {
		out, err := run(strconv.Itoa(k), c.Env[0].Value)
		want := "--threads 4 sweep run " + path + " --member " + strconv.Itoa(member) + " --resume --save-every 7"
		if err != nil || out != want {
			t.Errorf("index %d: %q (%v), want %q", k, out, err, want)
		}
	}
	if out, err := run("0", "3"); err != nil || !strings.Contains(out, "--member 3 --resume") {
		t.Errorf("one member: %q (%v)", out, err)
	}
	for _, bad := range []string{"5", "-1", "01", "x", "", "unset"} {
		if out, err := run(bad, c.Env[0].Value); err == nil || !strings.Contains(out, "does not index WARM_MEMBERS") {
			t.Errorf("index %q: %q (%v), want an error", bad, out, err)
		}
	}
	// The merge command runs through bash: report, top, merge of what top printed.
	mc := decodeJobs(t, jobs)["merge.yaml"].Spec.Template.Spec.Containers[0].Command
	os.WriteFile(filepath.Join(bin, "warm"), []byte("#!/bin/sh\necho \"$@\" >> "+filepath.Join(bin, "calls")+"\n[ \"$2\" = top ] && printf '/m/a b\\n/m/c\\n'\nexit 0\n"), 0o755)
	cmd := exec.Command(mc[0], mc[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("merge command: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(filepath.Join(bin, "calls"))
	lines := strings.Split(strings.TrimSpace(string(calls)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "--threads 4 report "+path) || !strings.HasPrefix(lines[1], "sweep top "+path+" -m 3") ||
		!strings.HasSuffix(lines[2], "-o "+filepath.Join(filepath.Dir(path), "warm")+" /m/a b /m/c") {
		t.Errorf("merge calls:\n%s", calls)
	}
}

// TestK8sErrors: what --k8s refuses, each with a message that says why.
func TestK8sErrors(t *testing.T) {
	m, path := statusManifest(t, false)
	mount := filepath.Dir(filepath.Dir(path))
	for _, tc := range []struct {
		name string
		edit func(*K8sOptions)
		want []string
	}{
		{"outside the mount", func(o *K8sOptions) { o.MountPath = "/elsewhere" }, []string{path, "/elsewhere", "not under the mount path"}},
		{"sibling prefix", func(o *K8sOptions) { o.MountPath = mount + "x" }, []string{"not under the mount path"}},
		{"merge outside", func(o *K8sOptions) { o.Out = "/tmp/warm-out" }, []string{"the merge /tmp/warm-out", mount}},
		{"no image", func(o *K8sOptions) { o.Image = "" }, []string{"--image"}},
		{"no claim", func(o *K8sOptions) { o.VolumeClaim = "" }, []string{"--volume-claim"}},
		{"relative mount", func(o *K8sOptions) { o.MountPath = "data" }, []string{"not absolute"}},
		{"bad memory", func(o *K8sOptions) { o.Mem = "8 gigs" }, []string{`memory "8 gigs"`}},
		{"bad job name", func(o *K8sOptions) { o.JobName = "Exp_1" }, []string{"job name"}},
		{"too many merged", func(o *K8sOptions) { o.TopM = 99 }, []string{"top 99"}},
	} {
		o := k8sOptions(mount)
		tc.edit(&o)
		_, err := m.K8s(path, o)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want an error with %q", tc.name, err, w)
			}
		}
	}
	stale, spath := statusManifest(t, true)
	if _, err := stale.K8s(spath, k8sOptions(filepath.Dir(filepath.Dir(spath)))); err == nil || !strings.Contains(err.Error(), "member-01") {
		t.Errorf("a stale member did not stop the submission: %v", err)
	}
}

// markDone writes every member's checkpoint, trained with its
// configuration, and removes its failure note and training state.
func markDone(m *Manifest) error {
	for i := range m.Members {
		os.Remove(m.failedFile(i))
		os.RemoveAll(m.MemberDir(i) + ".state")
		hp, err := json.Marshal(map[string]any{"train": m.MemberConfig(i)})
		if err != nil {
			return err
		}
		// Written aside and renamed, as checkpoints are, so that a
		// concurrent Wait never sees half a checkpoint.
		tmp := m.MemberDir(i) + ".tmp"
		ts, _ := safetensors.F32Tensor("x", []int{1}, []float32{1})
		os.MkdirAll(tmp, 0o755)
		err = safetensors.WriteFile(filepath.Join(tmp, safetensors.SingleFileName), []safetensors.Tensor{ts}, map[string]string{safetensors.MetaHParams: string(hp)})
		if err != nil {
			return err
		}
		// The old checkpoint is moved aside first: removing it in place
		// would show a concurrent Wait a directory without its weights
		// (a stale member) for a moment.
		old := m.MemberDir(i) + ".old"
		os.RemoveAll(old)
		if err := os.Rename(m.MemberDir(i), old); err != nil && !os.IsNotExist(err) {
			return err
		}
		if err := os.Rename(tmp, m.MemberDir(i)); err != nil {
			return err
		}
		os.RemoveAll(old)
	}
	return nil
}

func allDone(t *testing.T, m *Manifest) {
	t.Helper()
	if err := markDone(m); err != nil {
		t.Fatal(err)
	}
}

// TestK8sWriteApply writes the files and applies them through a stand-in
// kubectl; with every member done only the merge is left, and the head and
// member files of the previous submission are removed.
func TestK8sWriteApply(t *testing.T) {
	m, path := statusManifest(t, false)
	o := k8sOptions(filepath.Dir(filepath.Dir(path)))
	jobs, err := m.K8s(path, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	kubectl := filepath.Join(dir, "kubectl")
	os.WriteFile(kubectl, []byte("#!/bin/sh\necho \"$@\" >> "+log+"\necho job.batch/x created\n"), 0o755)
	out, err := jobs.Apply(kubectl)
	if err != nil {
		t.Fatal(err)
	}
	k8sDir := filepath.Join(filepath.Dir(path), "k8s")
	calls, _ := os.ReadFile(log)
	want := "apply -f " + filepath.Join(k8sDir, "head.yaml") + "\napply -f " + filepath.Join(k8sDir, "members.yaml") + "\napply -f " + filepath.Join(k8sDir, "merge.yaml") + "\n"
	if string(calls) != want || strings.Count(out, "created") != 3 {
		t.Errorf("kubectl calls:\n%s\nwant\n%s\noutput %q", calls, want, out)
	}
	for _, f := range jobs.Files {
		if b, err := os.ReadFile(filepath.Join(k8sDir, f.Name)); err != nil || string(b) != f.Text {
			t.Errorf("%s: %v", f.Name, err)
		}
	}
	os.WriteFile(kubectl, []byte("#!/bin/sh\necho 'error: the server could not find the requested resource' >&2\nexit 1\n"), 0o755)
	if _, err := jobs.Apply(kubectl); err == nil || !strings.Contains(err.Error(), "could not find") {
		t.Errorf("a refused apply: %v", err)
	}

	allDone(t, m)
	jobs, err = m.K8s(path, o)
	if err != nil {
		t.Fatal(err)
	}
	if jobs.Head != nil || jobs.Members != nil || len(jobs.Files) != 1 || jobs.Files[0].Name != "merge.yaml" {
		t.Fatalf("every member done: files %+v", jobs.Files)
	}
	if _, err := jobs.Write(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"head.yaml", "members.yaml"} {
		if _, err := os.Stat(filepath.Join(k8sDir, f)); !os.IsNotExist(err) {
			t.Errorf("%s left from the previous submission: %v", f, err)
		}
	}
}

// TestK8sWait: what warm sweep wait, the init containers' command, waits
// for and when it gives up.
func TestK8sWait(t *testing.T) {
	ctx := context.Background()
	m, _ := statusManifest(t, false) // member 2 failed, others not done
	short := WaitOptions{Timeout: 60 * time.Millisecond, Interval: 10 * time.Millisecond}

	head := short
	head.Head = true
	if err := Wait(ctx, m, head); err == nil || !strings.Contains(err.Error(), "waited") || !strings.Contains(err.Error(), "head") {
		t.Errorf("no head: %v, want a timeout", err)
	}
	fakeCheckpoint(t, m.Path(m.Head), nil)
	if err := Wait(ctx, m, head); err != nil {
		t.Errorf("head there: %v", err)
	}

	if err := Wait(ctx, m, short); err == nil || !strings.Contains(err.Error(), "member-02 failed") || !strings.Contains(err.Error(), "out of memory") {
		t.Errorf("a failed member: %v", err)
	}
	// A failure noted before the submission is that of a member retrained since.
	later := short
	later.Since = time.Now().Add(time.Minute)
	err := Wait(ctx, m, later)
	if err == nil || !strings.Contains(err.Error(), "waited 60ms for every member") || !strings.Contains(err.Error(), "1 of 6 members done") {
		t.Errorf("an old failure: %v, want a timeout", err)
	}
	// The members finishing while it waits end the wait.
	done := make(chan error, 1)
	go func() {
		time.Sleep(30 * time.Millisecond)
		done <- markDone(m)
	}()
	long := later
	long.Timeout = 10 * time.Second
	if err := Wait(ctx, m, long); err != nil {
		t.Errorf("members done while waiting: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	stale, _ := statusManifest(t, true)
	if err := Wait(cctx, stale, short); err == nil || !strings.Contains(err.Error(), "member-01 is stale") {
		t.Errorf("a stale member: %v", err)
	}
}
