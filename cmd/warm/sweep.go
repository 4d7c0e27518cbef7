package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

func init() { rootCmd.AddCommand(newSweepCmd()) }

func newSweepCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Plan and train the M diverse reward models of a WARM sweep",
		Long: `A sweep is a manifest (JSON) of M reward-model members fine-tuned from one
shared base with diverse learning rates, dropouts, data orders and Baklava
initialisations, all starting from one linear-probed head. 'warm sweep plan'
writes the manifest; 'warm sweep run' trains the members that are not trained
yet (all of them, or one with --member K: run members as separate jobs on any
scheduler and gather them with 'warm merge' or 'warm report'). 'warm sweep
export' writes the bundle a federated site trains one member from, on its own
data (warm train --bundle).`,
	}
	cmd.AddCommand(newSweepPlanCmd(), newSweepRunCmd(), newSweepStatusCmd(), newSweepTopCmd(), newSweepSubmitCmd(), newSweepWaitCmd(), newSweepExportCmd())
	return cmd
}

func newSweepStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status MANIFEST",
		Short: "Each member: done, partial (running or resumable), failed, stale or missing",
		Long: `Read each member's state from the files member runs write (its checkpoint,
its training state, a .failed note), so it works whatever scheduler ran them.
The exit status is 0; the last line counts the states.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			st := man.Status()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "member\tstate\tdetail")
			count := map[sweep.State]int{}
			for _, s := range st {
				detail := s.Detail
				if s.State == sweep.StatePartial {
					detail = fmt.Sprintf("training state at step %d", s.Step)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Name, s.State, detail)
				count[s.State]++
			}
			tw.Flush()
			fmt.Fprintf(cmd.OutOrStdout(), "%d members: %d done, %d partial, %d failed, %d stale, %d missing\n", len(st),
				count[sweep.StateDone], count[sweep.StatePartial], count[sweep.StateFailed], count[sweep.StateStale], count[sweep.StateMissing])
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newSweepExportCmd() *cobra.Command {
	var (
		member, out string
		force       bool
	)
	cmd := &cobra.Command{
		Use:   "export MANIFEST --member K -o BUNDLE",
		Short: "Write the bundle a federated site needs to train member K on its own data",
		Long: `Write a bundle directory for member K (index or name): the member's init
checkpoint (init/), the shared linear-probed head (head/) and bundle.json with
the member's hyper-parameters (its full training configuration, dropout,
max_len, save_at), its name and the base fingerprint. Nothing else: none of
the manifest's training data, evaluation sets or other members. The site
trains with 'warm train --bundle BUNDLE -o OUT DATA' and returns OUT; the
coordinator adds it with 'warm merge --into'.

The shared head must exist ('warm sweep run MANIFEST --head-only'), and the
manifest must not flip labels (corrupt_rate 0): a site trains on its own
labels. The bundle is written atomically.`,
		Example: `  warm sweep run exp/fed/manifest.json --head-only
  warm sweep export exp/fed/manifest.json --member 2 -o bundles/member-02`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" || member == "" {
				return errors.New("sweep export: --member K and -o BUNDLE are required")
			}
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			k, err := memberIndex(man, member)
			if err != nil {
				return fmt.Errorf("sweep export: %w", err)
			}
			if err := sweep.Export(man, k, out, force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bundle of %s: %s (train it with: warm train --bundle %s -o OUT DATA)\n", man.Members[k].Name, out, out)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&member, "member", "", "the member to export (index or name)")
	fs.StringVarP(&out, "out", "o", "", "bundle directory to write")
	fs.BoolVar(&force, "force", false, "replace an existing bundle")
	return cmd
}

// memberIndex resolves a member given by index or name.
func memberIndex(man *sweep.Manifest, s string) (int, error) {
	if k, err := strconv.Atoi(s); err == nil {
		if k < 0 || k >= len(man.Members) {
			return 0, fmt.Errorf("member %d out of range 0..%d", k, len(man.Members)-1)
		}
		return k, nil
	}
	for i, mb := range man.Members {
		if mb.Name == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no member %q", s)
}

func newSweepTopCmd() *cobra.Command {
	var (
		m       int
		results string
	)
	cmd := &cobra.Command{
		Use:   "top MANIFEST -m M --results RESULTS.json",
		Short: "Print the checkpoint directories of the M best members, one a line",
		Long: `Print the directories of the M best members by the ranking of an evaluation
(warm report or warm experiment's results.json), for 'warm merge' in scripts:
  mapfile -t top < <(warm sweep top MANIFEST -m 3 --results report/results.json)
  warm merge -o warm3 "${top[@]}"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			if results == "" {
				return fmt.Errorf("sweep top: --results RESULTS.json is required (warm report writes it)")
			}
			rank, _, err := man.ReadRanking(results)
			if err != nil {
				return err
			}
			idx, err := sweep.Top(rank, m)
			if err != nil {
				return err
			}
			for _, i := range idx {
				fmt.Fprintln(cmd.OutOrStdout(), man.MemberDir(i))
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&m, "m", "m", 0, "how many members")
	cmd.Flags().StringVar(&results, "results", "", "results.json that ranks the members")
	return cmd
}

func newSweepSubmitCmd() *cobra.Command {
	var (
		slurm, k8s, dryRun, apply bool
		sbatch, kubectl           string
		command                   string
		o                         sweep.SlurmOptions
		ko                        sweep.K8sOptions
		nodeSelector              []string
	)
	cmd := &cobra.Command{
		Use:   "submit MANIFEST --slurm|--k8s",
		Short: "Train the members as a Slurm job array or Kubernetes Indexed Job, then merge and report",
		Long: `Write and submit three sbatch scripts into DIR/slurm (DIR is the manifest's
directory): the shared head; a job array with one task a member still to
train (warm sweep run MANIFEST --member $SLURM_ARRAY_TASK_ID --resume), after
the head; and, after the array (afterok), warm report and the merge of the
top M members. Members already done are left out, so submitting again
resubmits only failed, interrupted or missing members; a preempted task
resumes from its last training-state checkpoint. --dry-run prints the
scripts and submits nothing. 'warm sweep status' shows where each member is.

With --k8s it writes three Kubernetes Jobs into DIR/k8s (head.yaml,
members.yaml, merge.yaml) and prints the kubectl commands that apply them
(--apply runs them; --dry-run prints the YAML): the head; an Indexed Job
whose index k trains the k-th member not done; the report and merge.
Kubernetes has no dependency between Jobs, so the member and merge pods
first wait ('warm sweep wait') for the head and for every member. Every pod
mounts --volume-claim at --mount-path, under which the manifest must lie.

--command TEMPLATE trains every member with another tool (TRL, OpenRLHF, your
own script) instead of warm: each task runs the template through bash with
the member's hyper-parameters substituted ({lr} {seed} {data_seed} {dropout}
{init} {train} {out} ...; see 'warm sweep plan --help'); the trainer writes a
Hugging Face checkpoint into {out}, warm checks it against the manifest's base
and moves it into place. The template and the base's content hash are
recorded in the manifest.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if slurm == k8s {
				return fmt.Errorf("sweep submit: choose one scheduler: --slurm or --k8s")
			}
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			if command != "" && command != man.Command {
				if err := man.SetCommand(cmd.Context(), command); err != nil {
					return err
				}
				if err := man.Save(args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "recorded the command and the base's hash (%s) in %s\n", man.BaseHash, args[0])
			}
			if k8s {
				ko.CPUs, ko.Mem, ko.TopM, ko.Out, ko.Report, ko.SaveEvery, ko.Warm = o.CPUs, o.Mem, o.TopM, o.Out, o.Report, o.SaveEvery, o.Warm
				ko.GPUs, ko.NoReport = o.GPUs, o.NoReport
				if ko.NodeSelector, err = keyValues("--node-selector", nodeSelector); err != nil {
					return err
				}
				return submitK8s(cmd, man, args[0], ko, dryRun, apply, kubectl)
			}
			jobs, err := man.Slurm(args[0], o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				for _, s := range []struct{ name, text string }{{"head.sbatch", jobs.Head}, {"members.sbatch", jobs.Members}, {"merge.sbatch", jobs.Merge}} {
					if s.name != "merge.sbatch" && len(jobs.Array) == 0 {
						continue
					}
					fmt.Fprintf(out, "# ---- %s\n%s\n", filepath.Join(jobs.Dir, s.name), s.text)
				}
				return nil
			}
			head, members, merge, err := jobs.Submit(sbatch)
			if err != nil {
				return err
			}
			if len(jobs.Array) == 0 {
				fmt.Fprintf(out, "every member is trained: submitted the merge (job %s)\n", merge)
				return nil
			}
			fmt.Fprintf(out, "submitted: head job %s, member array %s (members %v), merge job %s; logs in %s\n", head, members, jobs.Array, merge, jobs.Dir)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&slurm, "slurm", false, "submit to Slurm with sbatch")
	fs.BoolVar(&dryRun, "dry-run", false, "print the scripts or YAML, submit nothing")
	fs.StringVar(&sbatch, "sbatch", "sbatch", "the sbatch command")
	fs.StringVar(&o.Partition, "partition", "", "Slurm partition")
	fs.StringVar(&o.Time, "time", "", "time limit per job (e.g. 02:00:00)")
	fs.StringVar(&o.Account, "account", "", "Slurm account")
	fs.StringVar(&o.Mem, "mem", "", "memory per job (e.g. 8G; with --k8s a quantity, e.g. 8Gi)")
	fs.IntVar(&o.CPUs, "cpus", 2, "CPUs per task (and warm's --threads)")
	fs.StringArrayVar(&o.Extra, "sbatch-line", nil, "extra #SBATCH line, e.g. --sbatch-line=--gres=gpu:1 (repeatable)")
	fs.IntVar(&o.TopM, "merge-top", 0, "members the final job merges (default: all that can be averaged)")
	fs.StringVar(&o.Out, "merge-out", "", "where the merge goes (default DIR/warm)")
	fs.StringVar(&o.Report, "report", "", "where the report goes (default DIR/report)")
	fs.StringVar(&o.Warm, "warm", "", "the warm binary the jobs run (default: this one; with --k8s: warm on the image's PATH)")
	fs.IntVar(&o.SaveEvery, "save-every", 0, "steps between the members' training-state checkpoints (default: warm sweep run's)")
	fs.StringVar(&command, "command", "", "train each member with this command template instead of warm (recorded in the manifest)")
	fs.IntVar(&o.GPUs, "gpus", 0, "GPUs per member task (Slurm --gres=gpu:N; with --k8s the nvidia.com/gpu limit of each pod)")
	fs.BoolVar(&o.NoReport, "no-report", false, "merge every member without ranking them by warm report (which scores every member on the manifest's evaluation sets)")
	fs.BoolVar(&k8s, "k8s", false, "write Kubernetes Jobs (an Indexed Job for the members)")
	fs.BoolVar(&apply, "apply", false, "with --k8s: run kubectl apply on the Jobs")
	fs.StringVar(&kubectl, "kubectl", "kubectl", "the kubectl command (--apply)")
	fs.StringVar(&ko.Image, "image", "", "with --k8s: the container image, with warm and bash (required)")
	fs.StringVar(&ko.Namespace, "namespace", "", "with --k8s: the Jobs' namespace (default: kubectl's)")
	fs.StringVar(&ko.VolumeClaim, "volume-claim", "", "with --k8s: the PersistentVolumeClaim every pod mounts (required)")
	fs.StringVar(&ko.MountPath, "mount-path", "", "with --k8s: where the claim is mounted; the sweep must lie under it (required)")
	fs.StringVar(&ko.JobName, "job-name", "warm", "with --k8s: prefix of the Jobs' names")
	fs.StringVar(&ko.ServiceAccount, "service-account", "", "with --k8s: the pods' service account")
	fs.StringArrayVar(&nodeSelector, "node-selector", nil, "with --k8s: node selector KEY=VALUE (repeatable)")
	fs.IntVar(&ko.Parallelism, "parallelism", 0, "with --k8s: member pods at once (default: all)")
	fs.IntVar(&ko.BackoffLimit, "backoff-limit", 0, "with --k8s: retries of each pod (backoffLimitPerIndex for the members); evictions do not count")
	fs.DurationVar(&ko.WaitTimeout, "wait-timeout", 24*time.Hour, "with --k8s: how long members wait for the head and the merge for the members")
	return cmd
}

// submitK8s writes (or prints, or applies) the Kubernetes Jobs of a sweep.
func submitK8s(cmd *cobra.Command, man *sweep.Manifest, path string, o sweep.K8sOptions, dryRun, apply bool, kubectl string) error {
	jobs, err := man.K8s(path, o)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if dryRun {
		for _, f := range jobs.Files {
			fmt.Fprintf(out, "---\n# ---- %s\n%s", filepath.Join(jobs.Dir, f.Name), f.Text)
		}
		return nil
	}
	if apply {
		text, err := jobs.Apply(kubectl)
		fmt.Fprint(out, text)
		return err
	}
	paths, err := jobs.Write()
	if err != nil {
		return err
	}
	if len(jobs.Todo) == 0 {
		fmt.Fprintln(out, "every member is trained: wrote the merge Job only; apply it with")
	} else {
		fmt.Fprintf(out, "wrote the head, member (members %v) and merge Jobs; apply them with\n", jobs.Todo)
	}
	for _, p := range paths {
		fmt.Fprintf(out, "  kubectl apply -f %s\n", p)
	}
	return nil
}

// keyValues parses KEY=VALUE flags.
func keyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("sweep submit: %s %q: want KEY=VALUE", flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

func newSweepWaitCmd() *cobra.Command {
	var (
		o       sweep.WaitOptions
		members bool
		since   string
	)
	cmd := &cobra.Command{
		Use:   "wait MANIFEST [--head|--members] [--timeout D]",
		Short: "Wait until the shared head exists or every member is done",
		Long: `Wait until the shared head exists (--head) or every member is done
(--members, the default), as 'warm sweep status' reads them: the first step
of jobs on a scheduler without dependencies between jobs (Kubernetes). It
exits non-zero on --timeout, on a stale member, and on a failed member
(with --since TIME, RFC 3339, only one whose failure was noted at or after
TIME: older notes are those of members resubmitted since).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Head && members {
				return fmt.Errorf("sweep wait: --head or --members, not both")
			}
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return fmt.Errorf("sweep wait: --since: %w", err)
				}
				o.Since = t
			}
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			o.Log = slog.Default()
			return sweep.Wait(cmd.Context(), man, o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.Head, "head", false, "wait for the shared head")
	fs.BoolVar(&members, "members", false, "wait for every member (the default)")
	fs.DurationVar(&o.Timeout, "timeout", 0, "give up after this long (0: never)")
	fs.DurationVar(&o.Interval, "interval", 10*time.Second, "time between two looks")
	fs.StringVar(&since, "since", "", "fail only on member failures noted at or after this time (RFC 3339)")
	return cmd
}

func newSweepPlanCmd() *cobra.Command {
	var (
		out      string
		m        sweep.Manifest
		po       sweep.PlanOptions
		dropouts []float64
		evals    []string
		force    bool
		command  string
	)
	cmd := &cobra.Command{
		Use:   "plan -o MANIFEST --base BASE --inits A,B,C --train FILE",
		Short: "Write a sweep manifest",
		Long: `Write a sweep manifest. With --lmc (default) the first members are built for
linear mode connectivity: a reference, the same with another data order, with
another learning rate, and from another init (and the reference keeps a
snapshot halfway through its training). The others draw their learning rate,
dropout and init uniformly from the grids. Paths are relative to the manifest.

--command TEMPLATE makes 'warm sweep run' train each member with another tool
(TRL's RewardTrainer, OpenRLHF, your own script): the template runs through
bash in the manifest's directory with these placeholders replaced by the
member's values, shell-quoted (write ${VAR} for shell variables):
` + sweep.PlaceholderHelp() + `The trainer writes a Hugging Face checkpoint (config.json and safetensors
weights) into {out}; warm checks that it shares the base's tensors and shapes,
records how it was made (warm-member.json) and moves it into place. The
base's content hash is recorded in the manifest and checked before each
member runs, since foreign checkpoints carry no warm base fingerprint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || m.Base == "" || m.Train == "" || len(po.Inits) == 0 {
				return errors.New("sweep plan: -o, --base, --train and --inits are required")
			}
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("sweep plan: %s exists (use --force to replace it)", out)
			}
			for _, d := range dropouts {
				po.Dropouts = append(po.Dropouts, float32(d))
			}
			for _, e := range evals {
				name, path, ok := strings.Cut(e, "=")
				if !ok {
					return fmt.Errorf("sweep plan: --eval %q: want NAME=FILE", e)
				}
				m.Eval = append(m.Eval, sweep.EvalSet{Name: name, Path: path})
			}
			m.Version = sweep.Version
			if err := sweep.Plan(&m, po); err != nil {
				return err
			}
			if command != "" {
				if !cmd.Flags().Changed("head") {
					m.Head = "" // the external trainer brings its own head
				}
				if err := m.SetCommandAt(cmd.Context(), out, command); err != nil {
					return err
				}
			}
			if err := m.Save(out); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(m.Members, "", "  ")
			fmt.Printf("wrote %s with %d members:\n%s\n", out, len(m.Members), b)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&out, "out", "o", "", "manifest file to write")
	fs.BoolVar(&force, "force", false, "replace an existing manifest")
	fs.StringVar(&m.Out, "members-dir", "members", "directory of the member checkpoints")
	fs.StringVar(&m.Base, "base", "", "shared pre-trained base")
	fs.StringVar(&m.Head, "head", "head", "shared linear-probed head (fitted by 'sweep run' if absent)")
	fs.StringVar(&m.HeadInit, "head-init", "", "checkpoint the head is probed on (default: the base)")
	fs.StringVar(&m.Train, "train", "", "preference file of the members")
	fs.Float64Var(&m.CorruptRate, "corrupt", 0, "fraction of training labels to flip (the same for every member)")
	fs.Uint64Var(&m.CorruptSeed, "corrupt-seed", 1, "seed of the flipped labels")
	fs.IntVar(&m.MaxLen, "max-len", 0, "maximum tokens per sequence (default: the model's context)")
	m.Probe = train.DefaultProbe()
	fs.IntVar(&m.Probe.Steps, "probe-steps", m.Probe.Steps, "linear-probe steps of the shared head")
	fs.IntVar(&po.M, "members", 6, "number of members M")
	fs.StringSliceVar(&po.Inits, "inits", nil, "Baklava initialisations (SFT snapshots)")
	fs.Float64SliceVar(&po.LRs, "lrs", []float64{3e-5, 1e-4, 3e-4}, "learning rates")
	fs.Float64SliceVar(&dropouts, "dropouts", []float64{0, 0.1}, "dropout probabilities")
	fs.Uint64Var(&po.Seed, "seed", 1, "seed of the hyper-parameter draws and of the members' seeds")
	fs.BoolVar(&po.LMC, "lmc", true, "include the members that linear mode connectivity needs")
	fs.StringArrayVar(&evals, "eval", nil, "evaluation set NAME=FILE (repeatable; 'ood_dev' ranks members)")
	fs.StringVar(&command, "command", "", "train each member with this command template instead of warm (placeholders below)")
	addTrainFlags(fs, &m.Config, sweep.DefaultConfig(), false)
	return cmd
}

func newSweepRunCmd() *cobra.Command {
	var (
		members  []string
		headOnly bool
		o        sweep.RunOptions
	)
	cmd := &cobra.Command{
		Use:   "run MANIFEST [--member K]",
		Short: "Train the members of a sweep that are not trained yet",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			man, err := sweep.Load(args[0])
			if err != nil {
				return err
			}
			for _, s := range members {
				k, err := strconv.Atoi(s)
				if err != nil {
					k = -1
					for i, mb := range man.Members {
						if mb.Name == s {
							k = i
						}
					}
					if k < 0 {
						return fmt.Errorf("sweep run: no member %q", s)
					}
				}
				o.Members = append(o.Members, k)
			}
			p := newProgress()
			if o.Workers <= 1 {
				o.Progress = p.update
			}
			o.Log = p.logger()
			if headOnly {
				return sweep.EnsureHead(cmd.Context(), man, o)
			}
			st, err := sweep.Run(cmd.Context(), man, o)
			p.finish()
			for _, s := range st {
				if s.Name == "" || !s.Skipped && s.Wall == "" { // not reached, or failed
					continue
				}
				state := "trained in " + s.Wall
				if s.Skipped {
					state = "already trained"
				}
				fmt.Printf("%s\t%s\t%s\n", s.Name, s.Dir, state)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringSliceVar(&members, "member", nil, "train only these members (index or name; repeatable)")
	fs.IntVar(&o.Workers, "workers", 1, "members trained at once (each bit-identical to training it alone)")
	fs.BoolVar(&o.Resume, "resume", true, "resume members interrupted mid-training")
	fs.BoolVar(&headOnly, "head-only", false, "only fit the shared head (the first job of a scheduled sweep)")
	fs.IntVar(&o.StateEvery, "save-every", 200, "steps between training-state checkpoints")
	return cmd
}
