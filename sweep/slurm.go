package sweep

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// SlurmOptions configure the jobs that train a sweep on a Slurm cluster.
type SlurmOptions struct {
	// Partition, Time (e.g. "02:00:00"), Account and Mem (e.g. "8G") are
	// the sbatch options of the same names ("" leaves them to the
	// cluster's defaults); CPUs is --cpus-per-task (default 2), which
	// also sets warm's --threads.
	Partition, Time, Account, Mem string
	CPUs                          int
	// Extra are further #SBATCH lines, without the prefix ("--gres=gpu:1").
	Extra []string
	// Warm is the warm binary the jobs run (default: this one).
	Warm string
	// TopM is the number of best members the final job merges (default:
	// every member that can be averaged); Out is where the merge goes
	// (default DIR/warm) and Report where the report goes (DIR/report).
	TopM        int
	Out, Report string
	// SaveEvery is the member runs' --save-every (steps between
	// training-state checkpoints a preempted task resumes from; 0: warm's
	// default).
	SaveEvery int
	// GPUs, when > 0, asks for that many GPUs per member task
	// (--gres=gpu:N), for a manifest whose Command trains on GPUs.
	GPUs int
	// NoReport merges every averageable member without ranking them by
	// `warm report` (which scores every member on the evaluation sets:
	// skip it when the sets are large and the members big).
	NoReport bool
}

// SlurmJobs are the three scripts of a sweep on Slurm: the shared head, an
// array with one task per member to train, and the merge and report that
// depend on it (afterok).
type SlurmJobs struct {
	Dir                  string // where the scripts and the job logs go
	Head, Members, Merge string // script texts
	// Array lists the member indices the array trains: those not done.
	Array []int
}

// Slurm writes nothing: it returns the scripts for the manifest at path.
// Members already done are left out of the array; a stale member (trained
// with another configuration) is an error, since retraining it would
// overwrite a checkpoint the manifest no longer describes.
func (m *Manifest) Slurm(path string, o SlurmOptions) (*SlurmJobs, error) {
	if o.CPUs <= 0 {
		o.CPUs = 2
	}
	if o.Warm == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("sweep: the warm binary: %w", err)
		}
		o.Warm = exe
	}
	sub, err := m.submission(path, o.TopM, o.Out, o.Report, o.NoReport)
	if err != nil {
		return nil, err
	}
	man := sub.Manifest
	dir := filepath.Join(sub.Dir, "slurm")
	jobs := &SlurmJobs{Dir: dir, Array: sub.Todo}
	header := func(name string, array bool) string {
		var b strings.Builder
		b.WriteString("#!/bin/bash\n")
		fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
		log := "%x-%j.out"
		if array {
			log = "%x-%A_%a.out"
		}
		fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(dir, log))
		fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", o.CPUs)
		for _, kv := range [][2]string{{"partition", o.Partition}, {"time", o.Time}, {"account", o.Account}, {"mem", o.Mem}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "#SBATCH --%s=%s\n", kv[0], kv[1])
			}
		}
		for _, e := range o.Extra {
			fmt.Fprintf(&b, "#SBATCH %s\n", e)
		}
		if array {
			fmt.Fprintf(&b, "#SBATCH --array=%s\n", joinInts(jobs.Array))
			if o.GPUs > 0 {
				fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", o.GPUs)
			}
		}
		fmt.Fprintf(&b, "set -euo pipefail\nWARM=%s\nMANIFEST=%s\n", shellQuote(o.Warm), shellQuote(man))
		return b.String()
	}
	jobs.Head = header("warm-head", false) +
		"# The shared head, fitted once before the members start.\n" + headCommand(o.CPUs)
	jobs.Members = header("warm-member", true) +
		"# One member a task. A preempted or requeued task resumes from its last\n# training-state checkpoint; a member already trained is skipped.\n" +
		memberCommand(o.CPUs, `"$SLURM_ARRAY_TASK_ID"`, o.SaveEvery)
	jobs.Merge = header("warm-merge", false) + sub.mergeCommands(o.CPUs)
	return jobs, nil
}

// Write writes the scripts into j.Dir.
func (j *SlurmJobs) Write() error {
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return err
	}
	for name, text := range map[string]string{"head.sbatch": j.Head, "members.sbatch": j.Members, "merge.sbatch": j.Merge} {
		if err := os.WriteFile(filepath.Join(j.Dir, name), []byte(text), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Submit submits the scripts with sbatch (the command named, "sbatch" by
// default): the head, the member array after it, the merge after the
// array. It returns the three job ids. With nothing left to train, only the
// merge is submitted.
func (j *SlurmJobs) Submit(sbatch string) (head, members, merge string, err error) {
	if sbatch == "" {
		sbatch = "sbatch"
	}
	if err := j.Write(); err != nil {
		return "", "", "", err
	}
	run := func(script string, after string) (string, error) {
		args := []string{"--parsable"}
		if after != "" {
			args = append(args, "--dependency=afterok:"+after)
		}
		args = append(args, filepath.Join(j.Dir, script))
		out, err := exec.Command(sbatch, args...).Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = strings.TrimSpace(string(ee.Stderr))
			}
			return "", fmt.Errorf("sweep: %s %s: %w %s", sbatch, script, err, stderr)
		}
		id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";") // "ID" or "ID;cluster"
		if _, err := strconv.Atoi(id); err != nil {
			return "", fmt.Errorf("sweep: %s %s printed %q, not a job id", sbatch, script, out)
		}
		return id, nil
	}
	if len(j.Array) > 0 {
		if head, err = run("head.sbatch", ""); err != nil {
			return
		}
		if members, err = run("members.sbatch", head); err != nil {
			return
		}
	}
	merge, err = run("merge.sbatch", members)
	return
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '=' || r == '+' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
