package sweep

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// K8sOptions configure the Jobs that train a sweep on Kubernetes.
type K8sOptions struct {
	// Image is the container image, with warm and bash (required).
	Image string
	// Warm is the warm binary in the image (default "warm", on its PATH).
	Warm string
	// Namespace of the Jobs ("": kubectl's current one).
	Namespace string
	// VolumeClaim is the PersistentVolumeClaim every pod mounts at
	// MountPath (both required): the manifest, the head, the members, the
	// report and the merge must lie under MountPath, at the same paths as
	// here.
	VolumeClaim, MountPath string
	// CPUs is each container's CPU request and limit (default 2), and
	// warm's --threads; Mem its memory request and limit ("8Gi"; "": none);
	// GPUs its nvidia.com/gpu limit (0: none).
	CPUs int
	Mem  string
	GPUs int
	// JobName prefixes the Jobs' names (default "warm"): PREFIX-head,
	// PREFIX-members, PREFIX-merge.
	JobName        string
	ServiceAccount string
	NodeSelector   map[string]string
	// Parallelism is the number of member pods at once (default: all).
	Parallelism int
	// BackoffLimit is the retries of the head and merge pods, and of each
	// member (backoffLimitPerIndex); pods evicted or preempted are
	// replaced without counting (default 0).
	BackoffLimit int
	// WaitTimeout bounds the members' wait for the head and the merge's
	// wait for the members (default 24h).
	WaitTimeout time.Duration
	// TopM, Out, Report, SaveEvery and NoReport are as in SlurmOptions.
	TopM        int
	Out, Report string
	SaveEvery   int
	NoReport    bool
	// Now stamps the submission: failures noted before it are those of
	// members being retrained, which the merge does not stop on (default:
	// the current time).
	Now time.Time
}

// K8sJobs are the three Jobs of a sweep on Kubernetes: the shared head, an
// Indexed Job with one index per member to train, and the report and
// merge. Kubernetes orders nothing between Jobs, so each waits for the
// previous one itself (an init container running `warm sweep wait`).
type K8sJobs struct {
	Dir string // DIR/k8s, where Write puts the files
	// Head and Members are nil when every member is done.
	Head, Members, Merge *batchv1.Job
	// Todo lists the members the Indexed Job trains: its index k trains
	// member Todo[k].
	Todo []int
	// Files are the YAML files in the order to apply them.
	Files []K8sFile
}

// K8sFile is one YAML file of K8sJobs.
type K8sFile struct {
	Name, Text string
}

// The names of the files K8sJobs writes.
const (
	k8sHeadFile    = "head.yaml"
	k8sMembersFile = "members.yaml"
	k8sMergeFile   = "merge.yaml"
)

// K8s writes nothing: it returns the Jobs for the manifest at path.
// Members already done get no index; a stale member is an error (as for
// Slurm).
func (m *Manifest) K8s(path string, o K8sOptions) (*K8sJobs, error) {
	if o.Image == "" {
		return nil, fmt.Errorf("sweep: --k8s needs the container image (--image) with warm in it")
	}
	if o.VolumeClaim == "" || o.MountPath == "" {
		return nil, fmt.Errorf("sweep: --k8s needs the PersistentVolumeClaim every pod mounts (--volume-claim) and where (--mount-path)")
	}
	if !filepath.IsAbs(o.MountPath) {
		return nil, fmt.Errorf("sweep: mount path %s is not absolute", o.MountPath)
	}
	o.MountPath = filepath.Clean(o.MountPath)
	if o.CPUs <= 0 {
		o.CPUs = 2
	}
	if o.Warm == "" {
		o.Warm = "warm"
	}
	if o.JobName == "" {
		o.JobName = "warm"
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = 24 * time.Hour
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.BackoffLimit < 0 || o.Parallelism < 0 || o.GPUs < 0 {
		return nil, fmt.Errorf("sweep: negative backoff limit, parallelism or GPUs")
	}
	if errs := validation.IsDNS1123Label(o.JobName + "-members"); len(errs) > 0 {
		return nil, fmt.Errorf("sweep: job name %q: %s", o.JobName+"-members", strings.Join(errs, "; "))
	}
	sub, err := m.submission(path, o.TopM, o.Out, o.Report, o.NoReport)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct{ what, path string }{
		{"the manifest", sub.Manifest}, {"the members' directory", absPath(m.Path(m.Out))},
		{"the head", m.abs(m.Head)}, {"the report", absPath(sub.Report)}, {"the merge", absPath(sub.Out)},
	} {
		if p.path == "" { // no shared head: an external trainer brings its own
			continue
		}
		if rel, err := filepath.Rel(o.MountPath, p.path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("sweep: %s %s is not under the mount path %s: every pod sees the sweep only through the volume claim %s mounted there",
				p.what, p.path, o.MountPath, o.VolumeClaim)
		}
	}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(o.CPUs), resource.DecimalSI)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: *resource.NewQuantity(int64(o.CPUs), resource.DecimalSI)},
	}
	if o.Mem != "" {
		q, err := resource.ParseQuantity(o.Mem)
		if err != nil {
			return nil, fmt.Errorf("sweep: memory %q: %w", o.Mem, err)
		}
		res.Requests[corev1.ResourceMemory], res.Limits[corev1.ResourceMemory] = q, q
	}
	if o.GPUs > 0 {
		res.Limits["nvidia.com/gpu"] = *resource.NewQuantity(int64(o.GPUs), resource.DecimalSI)
	}
	k := &k8sBuilder{o: o, sub: sub, res: res}
	jobs := &K8sJobs{Dir: filepath.Join(sub.Dir, "k8s"), Todo: sub.Todo}
	wait := func(flags ...string) []string {
		return append([]string{o.Warm, "sweep", "wait", sub.Manifest, "--timeout", o.WaitTimeout.String()}, flags...)
	}
	if len(sub.Todo) > 0 {
		jobs.Head = k.job("head", k.script("exec "+headCommand(o.CPUs)), nil, nil)
		n := int32(len(sub.Todo))
		jobs.Members = k.job("members", k.script(k8sPickMember+"exec "+memberCommand(o.CPUs, `"$K"`, o.SaveEvery)),
			[]corev1.EnvVar{{Name: "WARM_MEMBERS", Value: joinInts(sub.Todo)}}, wait("--head"))
		par := n
		if o.Parallelism > 0 {
			par = min(par, int32(o.Parallelism))
		}
		mode := batchv1.IndexedCompletion
		spec := &jobs.Members.Spec
		spec.CompletionMode, spec.Completions, spec.Parallelism = &mode, &n, &par
		spec.BackoffLimit, spec.BackoffLimitPerIndex = nil, ptr(int32(o.BackoffLimit))
	}
	jobs.Merge = k.job("merge", k.script(sub.mergeCommands(o.CPUs)), nil,
		wait("--members", "--since", o.Now.UTC().Format(time.RFC3339)))
	headNote := fmt.Sprintf(`# The shared head of the sweep %s, fitted once before the members
# start (warm sweep run --head-only).
`, sub.Manifest)
	membersNote := fmt.Sprintf(`# The members of the sweep %s still to train, as an Indexed Job:
# index k (JOB_COMPLETION_INDEX, 0..%d) trains the k-th member of
# WARM_MEMBERS=%s, the members not done when this file was written.
# Kubernetes has no dependency between Jobs: the init container waits for
# the head (warm sweep wait --head). A pod evicted or preempted is replaced
# and resumes from the member's last training-state checkpoint.
`, sub.Manifest, len(sub.Todo)-1, joinInts(sub.Todo))
	mergeNote := fmt.Sprintf(`# The report and WARM(%d) merge of the sweep %s.
# Kubernetes has no dependency between Jobs: the init container waits until
# every member is done (warm sweep wait --members), and fails on a member
# whose failure is noted after %s or on timeout.
`, sub.TopM, sub.Manifest, o.Now.UTC().Format(time.RFC3339))
	for _, f := range []struct {
		name, note string
		job        *batchv1.Job
	}{{k8sHeadFile, headNote, jobs.Head}, {k8sMembersFile, membersNote, jobs.Members}, {k8sMergeFile, mergeNote, jobs.Merge}} {
		if f.job == nil {
			continue
		}
		b, err := yaml.Marshal(f.job)
		if err != nil {
			return nil, fmt.Errorf("sweep: the %s Job: %w", f.name, err)
		}
		jobs.Files = append(jobs.Files, K8sFile{Name: f.name, Text: "# Written by warm sweep submit --k8s.\n" + f.note + string(b)})
	}
	return jobs, nil
}

// k8sPickMember maps the Indexed Job's JOB_COMPLETION_INDEX to the member
// it trains, K, through WARM_MEMBERS (the members to train, comma
// separated); an index outside it is an error, not a wrong member.
const k8sPickMember = `IFS=, read -r -a members <<< "$WARM_MEMBERS"
if [[ ! ${JOB_COMPLETION_INDEX:-} =~ ^(0|[1-9][0-9]*)$ ]] || [[ -z ${members[$JOB_COMPLETION_INDEX]:-} ]]; then
  echo "warm: JOB_COMPLETION_INDEX=${JOB_COMPLETION_INDEX:-} does not index WARM_MEMBERS=$WARM_MEMBERS" >&2
  exit 2
fi
K=${members[$JOB_COMPLETION_INDEX]}
`

// k8sBuilder builds the Jobs of one submission.
type k8sBuilder struct {
	o   K8sOptions
	sub *submission
	res corev1.ResourceRequirements
}

// script is the bash script of a container: the variables the shared
// commands use, then body.
func (k *k8sBuilder) script(body string) string {
	return fmt.Sprintf("set -euo pipefail\nWARM=%s\nMANIFEST=%s\n", shellQuote(k.o.Warm), shellQuote(k.sub.Manifest)) + body
}

// job is a Job named PREFIX-component running script in bash, with an init
// container running wait when it is not nil.
func (k *k8sBuilder) job(component, script string, env []corev1.EnvVar, wait []string) *batchv1.Job {
	labels := map[string]string{
		"app.kubernetes.io/name":      "warm",
		"app.kubernetes.io/instance":  k.o.JobName,
		"app.kubernetes.io/component": component,
	}
	mounts := []corev1.VolumeMount{{Name: "sweep", MountPath: k.o.MountPath}}
	pod := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever, // the Job replaces failed pods; podFailurePolicy needs Never
		ServiceAccountName: k.o.ServiceAccount,
		NodeSelector:       k.o.NodeSelector,
		Containers: []corev1.Container{{
			Name: component, Image: k.o.Image, Command: []string{"/bin/bash", "-c", script},
			Env: env, Resources: k.res, VolumeMounts: mounts,
		}},
		Volumes: []corev1.Volume{{Name: "sweep", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: k.o.VolumeClaim},
		}}},
	}
	if wait != nil {
		small := resource.MustParse("100m")
		mem := resource.MustParse("128Mi")
		rl := corev1.ResourceList{corev1.ResourceCPU: small, corev1.ResourceMemory: mem}
		pod.InitContainers = []corev1.Container{{
			Name: "wait", Image: k.o.Image, Command: wait, VolumeMounts: mounts,
			Resources: corev1.ResourceRequirements{Requests: rl, Limits: rl},
		}}
	}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: k.o.JobName + "-" + component, Namespace: k.o.Namespace, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(k.o.BackoffLimit)),
			// An evicted or preempted pod is replaced without counting
			// against the backoff limit: its member resumes.
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action:          batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue}},
			}}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// Write writes j.Files into j.Dir and removes the head and member files a
// previous submission left there when there is nothing left to train. It
// returns the paths written, in the order to apply them.
func (j *K8sJobs) Write() ([]string, error) {
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var paths []string
	for _, f := range j.Files {
		p := filepath.Join(j.Dir, f.Name)
		if err := os.WriteFile(p, []byte(f.Text), 0o644); err != nil {
			return nil, fmt.Errorf("sweep: %w", err)
		}
		paths = append(paths, p)
	}
	if j.Members == nil {
		for _, name := range []string{k8sHeadFile, k8sMembersFile} {
			if err := os.Remove(filepath.Join(j.Dir, name)); err != nil && !os.IsNotExist(err) {
				return nil, fmt.Errorf("sweep: %w", err)
			}
		}
	}
	return paths, nil
}

// Apply writes the files and runs `kubectl apply -f FILE` on each, in
// order, with kubectl the command named ("kubectl" by default). It returns
// kubectl's output.
func (j *K8sJobs) Apply(kubectl string) (string, error) {
	if kubectl == "" {
		kubectl = "kubectl"
	}
	paths, err := j.Write()
	if err != nil {
		return "", err
	}
	var out strings.Builder
	for _, p := range paths {
		b, err := exec.Command(kubectl, "apply", "-f", p).CombinedOutput()
		out.Write(b)
		if err != nil {
			return out.String(), fmt.Errorf("sweep: %s apply -f %s: %w: %s", kubectl, p, err, strings.TrimSpace(string(b)))
		}
	}
	return out.String(), nil
}
