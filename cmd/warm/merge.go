package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/scorer"
)

// mergeFlagValues holds the flags of `warm merge`.
type mergeFlagValues struct {
	output          string
	weights         []float64
	lambda          float64
	into            string
	dtype           string
	accumulate      string
	shardSize       string
	allowMixed      bool
	ignoreBase      bool
	ignoreConfig    []string
	force           bool
	noSync          bool
	threads         int
	verify          bool
	fingerprint     string
	peakRSS         bool
	checkOnly       bool
	checkOn         string
	checkTol        float64
	checkBatch      int
	notifyServe     string
	notifyToken     string
	notifyTimeout   time.Duration
	jsonOut         bool
	quiet           bool
	progressNonTerm bool
}

var mergeFlags mergeFlagValues

var mergeCmd = &cobra.Command{
	Use:   "merge -o OUT MEMBER...",
	Short: "Average the weights of reward models (WARM), strictly and atomically",
	Long: `merge averages the weights of reward models fine-tuned from one pre-trained
base: the WARM uniform average, a weighted average, an interpolation between
two members (--lambda, for linear mode connectivity sweeps), or a running
update that adds members to an existing merge (--into).

A member is a checkpoint directory (model.safetensors, or shards
model-0000i-of-0000N.safetensors with model.safetensors.index.json; plus
config.json and tokenizer files) or a single .safetensors file. Checkpoints
made by other tools (GPT-2, Llama/Qwen ...ForSequenceClassification) work
too; they carry no warm base fingerprint, so pass --ignore-base-fingerprint.

Before any tensor data is read, every member must agree on tensor names,
shapes and dtypes, on config.json (field by field, ignoring provenance,
dtype and dropout fields) and tokenizer files (byte for byte), and on the
base fingerprint. Float tensors are averaged (F32, F16, BF16, F64 inputs;
float64 accumulation by default); integer and bool tensors must be identical
and are copied. A NaN or infinity aborts the merge naming the tensor.

The output (a directory, or a file if OUT ends in .safetensors) has the
layout of the first member, its config and tokenizer, and records the method,
weights, members and their fingerprints in the safetensors metadata. It is
written in a temporary directory beside OUT and renamed into place: an error,
Ctrl-C or kill -9 leaves no output, or the previous one.`,
	Example: `  warm merge -o runs/warm runs/rm-0 runs/rm-1 runs/rm-2
  warm merge -o soup --weights 2,1,1 a b c
  warm merge -o lmc/0.3 --lambda 0.3 runs/rm-0 runs/rm-5
  warm merge --into runs/warm -o runs/warm runs/rm-3 runs/rm-4
  warm merge --ignore-base-fingerprint --dtype BF16 -o merged hf/rm-a hf/rm-b`,
	Args: cobra.MinimumNArgs(1),
	RunE: runMerge,
}

func init() {
	f := mergeCmd.Flags()
	f.StringVarP(&mergeFlags.output, "output", "o", "", "output checkpoint directory (or .safetensors file)")
	f.Float64SliceVar(&mergeFlags.weights, "weights", nil, "per-member weights, normalised to sum to 1 (default: uniform)")
	f.Float64Var(&mergeFlags.lambda, "lambda", 0, "interpolate two members: (1-λ)·first + λ·second, λ in [0,1]")
	f.StringVar(&mergeFlags.into, "into", "", "existing uniform merge to add the members to (may equal -o, which then replaces it)")
	f.StringVar(&mergeFlags.dtype, "dtype", "", "output dtype of averaged tensors: F32, F16, BF16 or F64 (default: the members')")
	f.StringVar(&mergeFlags.accumulate, "accumulate", "F64", "accumulation precision: F64 or F32")
	f.StringVar(&mergeFlags.shardSize, "shard-size", "0", "shard the output into files of at most this size (e.g. 256MiB, 2GB); 0 keeps the first member's layout")
	f.BoolVar(&mergeFlags.allowMixed, "allow-mixed-dtypes", false, "allow a tensor to have different float dtypes in different members")
	f.BoolVar(&mergeFlags.ignoreBase, "ignore-base-fingerprint", false, "merge members without (or with different) warm.base_fingerprint, e.g. checkpoints from other tools")
	f.StringSliceVar(&mergeFlags.ignoreConfig, "ignore-config-field", nil, "config.json top-level field that may differ between members (repeatable)")
	f.BoolVar(&mergeFlags.force, "force", false, "replace an existing output checkpoint (atomically)")
	f.BoolVar(&mergeFlags.noSync, "no-sync", false, "skip fsync: still atomic against crashes of warm, not against power loss")
	f.StringVar(&mergeFlags.fingerprint, "fingerprint", "auto", "hash the output for warm.fingerprint: auto (outputs up to 256 MiB), always, never")
	f.BoolVar(&mergeFlags.verify, "verify-members", false, "hash every member first: check stored fingerprints, record content fingerprints of foreign members (reads the members twice)")
	f.IntVar(&mergeFlags.threads, "threads", 0, "worker goroutines (default: all CPUs)")
	f.BoolVar(&mergeFlags.checkOnly, "check", false, "run the checks only; read no tensor data, write nothing")
	f.StringVar(&mergeFlags.checkOn, "check-on", "", "score the members and the merge on this pair file (JSONL or ETHICS CSV) before writing, and refuse a merge that scores worse than the members' mean by more than --check-tol (with --into: worse than the weighted mean of the published average and the added members, or than the published average)")
	f.Float64Var(&mergeFlags.checkTol, "check-tol", 0.02, "with --check-on: how far (in pairwise accuracy) below the members' mean (and, with --into, the published average) the merge may score")
	f.IntVar(&mergeFlags.checkBatch, "check-batch", 8, "with --check-on: sequences per forward pass")
	f.StringVar(&mergeFlags.notifyServe, "notify-serve", "", "after publishing, ask the warm serve at this URL to reload (POST URL/admin/reload)")
	f.StringVar(&mergeFlags.notifyToken, "notify-token-file", "", "with --notify-serve: file holding the server's bearer token (default: $WARM_SERVE_TOKEN)")
	f.DurationVar(&mergeFlags.notifyTimeout, "notify-timeout", 5*time.Minute, "with --notify-serve: how long the reload may take")
	f.BoolVar(&mergeFlags.jsonOut, "json", false, "print the result as JSON")
	f.BoolVarP(&mergeFlags.quiet, "quiet", "q", false, "no progress bar")
	f.BoolVar(&mergeFlags.progressNonTerm, "progress", false, "show the progress bar even when stderr is not a terminal")
	// For bench/merge_bench.sh: report peak memory without depending on
	// /usr/bin/time.
	f.BoolVar(&mergeFlags.peakRSS, "report-peak-rss", false, "print peak_rss_kib=N (VmHWM) to stderr at the end")
	f.MarkHidden("report-peak-rss")
	rootCmd.AddCommand(mergeCmd)
}

func runMerge(cmd *cobra.Command, members []string) error {
	fl := mergeFlags
	opts := merge.Options{
		Weights:               fl.weights,
		Into:                  fl.into,
		Accumulate:            merge.Accumulation(strings.ToUpper(fl.accumulate)),
		AllowMixedDTypes:      fl.allowMixed,
		IgnoreBaseFingerprint: fl.ignoreBase,
		IgnoreConfigFields:    fl.ignoreConfig,
		Overwrite:             fl.force,
		NoSync:                fl.noSync,
		Threads:               fl.threads,
		VerifyMembers:         fl.verify,
		Fingerprint:           merge.FingerprintMode(strings.ToLower(fl.fingerprint)),
	}
	if cmd.Flags().Changed("lambda") {
		l := fl.lambda
		opts.Lambda = &l
	}
	if fl.dtype != "" {
		d, err := safetensors.ParseDType(strings.ToUpper(fl.dtype))
		if err != nil {
			return fmt.Errorf("--dtype: %w", err)
		}
		opts.OutDType = d
	}
	size, err := parseSize(fl.shardSize)
	if err != nil {
		return fmt.Errorf("--shard-size: %w", err)
	}
	opts.ShardSize = size
	if fl.checkOnly {
		if err := merge.Check(members, opts); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "checks passed: %d members can be merged\n", len(members))
		return nil
	}
	if fl.output == "" {
		return fmt.Errorf("no output: give -o OUT")
	}
	var check *scorer.MergeCheck
	if fl.checkOn != "" {
		if strings.HasSuffix(fl.output, ".safetensors") {
			return fmt.Errorf("--check-on needs a checkpoint directory as output (config.json beside the weights), not the file %s", fl.output)
		}
		if fl.checkTol < 0 {
			return fmt.Errorf("--check-tol %g must be >= 0", fl.checkTol)
		}
		pairs, _, err := data.LoadPairs(fl.checkOn, data.LoadOptions{})
		if err != nil {
			return fmt.Errorf("--check-on: %w", err)
		}
		opts.Verify = func(ctx context.Context, out string) error {
			var err error
			if fl.into != "" {
				check, err = checkRunning(ctx, fl.into, members, out, pairs, fl.checkTol, max(fl.checkBatch, 1))
			} else {
				check, err = scorer.CheckMerge(ctx, members, out, pairs, fl.checkTol, max(fl.checkBatch, 1))
			}
			if err != nil {
				return err
			}
			printMergeCheck(cmd.ErrOrStderr(), check)
			return check.Err()
		}
	}
	var notify *serveNotifier
	if fl.notifyServe != "" {
		if notify, err = newServeNotifier(fl.notifyServe, fl.notifyToken, fl.notifyTimeout); err != nil {
			return err
		}
	}
	showBar := !fl.quiet && (fl.progressNonTerm || term.IsTerminal(int(os.Stderr.Fd())))
	var bar *progressbar.ProgressBar
	if showBar {
		opts.Progress = func(done, total int64) {
			if bar == nil {
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(os.Stderr),
					progressbar.OptionSetDescription("merging"),
					progressbar.OptionShowBytes(true),
					progressbar.OptionShowCount(),
					progressbar.OptionSetWidth(30),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }),
				)
			}
			bar.Set64(done)
		}
	}
	if fl.peakRSS {
		defer printPeakRSS()
	}
	res, err := merge.Run(cmd.Context(), fl.output, members, opts)
	if bar != nil && err != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	// The merge is published: a failed notification is reported after the
	// result, as an error that says so.
	var reload *reloadResult
	var notifyErr error
	if notify != nil {
		reload, notifyErr = notify.reload(cmd.Context(), res.Output, res.Fingerprint)
	}
	if fl.jsonOut {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		err := enc.Encode(struct {
			merge.Result
			Check  *scorer.MergeCheck `json:"check,omitempty"`
			Reload *reloadResult      `json:"reload,omitempty"`
		}{res, check, reload})
		return errors.Join(err, notifyErr)
	}
	secs := res.Duration.Seconds()
	what := fmt.Sprintf("merged %d members (%s) into %s", len(res.Members), res.Method, res.Output)
	if res.Method == merge.MethodRunning {
		what = fmt.Sprintf("added %d members to %s, now a uniform merge of %d, into %s", len(res.Members)-1, res.Members[0].Path, res.MemberCount, res.Output)
	}
	if res.Fingerprint == "" {
		res.Fingerprint = "not computed (output larger than 256 MiB; --fingerprint always computes it)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: %d tensors in %d file(s), read %s, wrote %s in %.2fs (%s/s read)\nfingerprint %s\n",
		what, res.Tensors, res.Shards,
		humanBytes(res.BytesRead), humanBytes(res.BytesWritten), secs, humanBytes(int64(float64(res.BytesRead)/max(secs, 1e-9))), res.Fingerprint)
	if reload != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "warm serve at %s reloaded: now serving %s\n", reload.URL, reload.Fingerprint)
		if reload.Note != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "  note: %s\n", reload.Note)
		}
	}
	return notifyErr
}

// checkRunning is merge --check-on for a running merge (--into): the
// published average into, standing for its members, and the added members
// are scored beside the new average out.
func checkRunning(ctx context.Context, into string, members []string, out string, pairs []data.Pair, tol float64, batch int) (*scorer.MergeCheck, error) {
	s, err := safetensors.OpenSet(into)
	if err != nil {
		return nil, fmt.Errorf("merge check: --into: %w", err)
	}
	_, count, err := merge.ReadInfo(s.Metadata)
	s.Close()
	if err != nil {
		return nil, fmt.Errorf("merge check: --into %s: %w", into, err)
	}
	return scorer.CheckRunningMerge(ctx, into, count, members, out, pairs, tol, batch)
}

// printMergeCheck prints the accuracies merge --check-on compared.
func printMergeCheck(w io.Writer, c *scorer.MergeCheck) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "check on %d pairs\taccuracy\t±se\tmean margin\n", c.Pairs)
	for _, m := range c.Members {
		fmt.Fprintf(tw, "member %s\t%.4f\t%.4f\t%.4f\n", m.Path, m.Accuracy, m.StdErr, m.MeanMargin)
	}
	mean := "members' mean"
	if p := c.Previous; p != nil {
		fmt.Fprintf(tw, "published average %s (%d members)\t%.4f\t%.4f\t%.4f\n", p.Path, c.PreviousCount, p.Accuracy, p.StdErr, p.MeanMargin)
		mean = fmt.Sprintf("mean of the %d members (published average for its %d)", c.PreviousCount+len(c.Members), c.PreviousCount)
	}
	fmt.Fprintf(tw, "%s\t%.4f\t\t\n", mean, c.MeanMember)
	fmt.Fprintf(tw, "merge\t%.4f\t%.4f\t%.4f\n", c.Merged.Accuracy, c.Merged.StdErr, c.Merged.MeanMargin)
	tw.Flush()
	verdict := "passed"
	if !c.Passed {
		verdict = "FAILED"
	}
	if c.Previous != nil {
		fmt.Fprintf(w, "check %s: new average %.4f vs members' mean %.4f and published average %.4f, tolerance %.4f\n", verdict, c.Merged.Accuracy, c.MeanMember, c.Previous.Accuracy, c.Tolerance)
		return
	}
	fmt.Fprintf(w, "check %s: merge %.4f vs members' mean %.4f, tolerance %.4f\n", verdict, c.Merged.Accuracy, c.MeanMember, c.Tolerance)
}

// parseSize parses a byte count with an optional unit: B, KB, MB, GB, TB
// (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024), or K, M, G, T
// (taken as binary).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 256MiB, 2GB, 1048576)", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("%q: unknown unit %q", s, unit)
	}
	if v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int64(v * mult), nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// printPeakRSS prints the process's peak resident set size (VmHWM from
// /proc/self/status) to stderr.
func printPeakRSS() {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(os.Stderr, "peak_rss_kib=unknown")
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Fprintf(os.Stderr, "peak_rss_kib=%s\n", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return
		}
	}
}
