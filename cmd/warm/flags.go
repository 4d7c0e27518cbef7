package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/policy"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/train"
)

var (
	threads    int
	bf16Dot    bool
	cpuProfile string
	memProfile string
	profFile   *os.File
)

func init() {
	rootCmd.PersistentFlags().IntVar(&threads, "threads", runtime.GOMAXPROCS(0), "goroutines the compute kernels use")
	rootCmd.PersistentFlags().BoolVar(&bf16Dot, "bf16-dot", false, "multiply BF16 weights by BF16 dot products (activations rounded to bfloat16, sums in float32): about 2x the forward speed on CPUs with AVX512-BF16, rewards within a few 1e-2 relative of float32 (docs/MODELS.md)")
	rootCmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (go tool pprof)")
	rootCmd.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile (allocations and what is live) at the end of the command to this file (go tool pprof)")
	rootCmd.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if threads < 1 {
			return fmt.Errorf("--threads %d: must be at least 1", threads)
		}
		kernels.SetThreads(threads)
		if err := kernels.SetBF16Dot(bf16Dot); err != nil {
			return fmt.Errorf("--bf16-dot: %w", err)
		}
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				f.Close()
				return fmt.Errorf("--cpuprofile: %w", err)
			}
			profFile = f
		}
		return nil
	}
	rootCmd.PersistentPostRun = func(*cobra.Command, []string) { stopProfile() }
}

// stopProfile ends a --cpuprofile profile and writes the --memprofile one
// (also called when a command fails).
func stopProfile() {
	if profFile != nil {
		pprof.StopCPUProfile()
		profFile.Close()
		profFile = nil
	}
	if memProfile != "" {
		if f, err := os.Create(memProfile); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		memProfile = ""
	}
}

// addTrainFlags registers the optimisation flags shared by pretrain, sft
// and train, with defaults from def. Without seeds, --seed and --data-seed
// are left out (a sweep gives each member its own).
func addTrainFlags(fs *pflag.FlagSet, c *train.Config, def train.Config, seeds bool) {
	*c = def
	fs.IntVar(&c.Steps, "steps", def.Steps, "optimiser steps")
	fs.IntVar(&c.BatchSize, "batch", def.BatchSize, "sequences (pretrain, sft) or pairs (train) per step")
	fs.Float64Var(&c.LR, "lr", def.LR, "peak learning rate")
	fs.Float64Var(&c.MinLR, "min-lr", def.MinLR, "learning rate at the end of the decay")
	fs.IntVar(&c.Warmup, "warmup", def.Warmup, "linear warm-up steps")
	fs.Var(decayFlag{&c.Decay}, "decay", "schedule after warm-up: cosine, linear or constant")
	fs.Float32Var(&c.WeightDecay, "weight-decay", def.WeightDecay, "AdamW decoupled weight decay (matrices and embeddings)")
	fs.Float32Var(&c.ClipNorm, "clip", def.ClipNorm, "global gradient-norm clipping (0: off)")
	if seeds {
		fs.Uint64Var(&c.Seed, "seed", def.Seed, "seed of the dropout masks")
		fs.Uint64Var(&c.DataSeed, "data-seed", def.DataSeed, "seed of the data order")
	}
}

// decayFlag is a --decay flag: its value goes through train.ParseDecay,
// so a misspelt decay is refused where it is given.
type decayFlag struct{ d *train.Decay }

func (f decayFlag) String() string {
	if f.d == nil {
		return ""
	}
	return string(*f.d)
}

func (f decayFlag) Set(s string) error {
	d, err := train.ParseDecay(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// Type is "string", so that --help reads as it did for a string flag.
func (f decayFlag) Type() string { return "string" }

// addResumeFlags registers the training-state flags.
func addResumeFlags(fs *pflag.FlagSet, r *pipeline.Resume) {
	fs.StringVar(&r.StateDir, "state-dir", "", "training-state directory (default OUT.state)")
	fs.IntVar(&r.Every, "save-every", 200, "steps between training-state checkpoints (Ctrl-C also saves)")
	fs.BoolVar(&r.Resume, "resume", false, "continue an interrupted run from its training state")
	fs.BoolVar(&r.Keep, "keep-state", false, "keep the training state after success")
}

// progress shows training progress on stderr: a bar on a terminal, a log
// line every few percent otherwise.
type progress struct {
	stage string
	bar   *progressbar.ProgressBar
	tty   bool
	last  time.Time
	toks  int
}

func newProgress() *progress {
	return &progress{tty: term.IsTerminal(int(os.Stderr.Fd()))}
}

func (p *progress) update(stage string, st train.Stats, total int) {
	if stage != p.stage {
		p.finish()
		p.stage, p.toks, p.last = stage, 0, time.Now()
		if p.tty {
			p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(stage), progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetWidth(24), progressbar.OptionClearOnFinish())
		}
	}
	p.toks += st.Tokens
	tps := float64(p.toks) / st.Elapsed.Seconds()
	desc := fmt.Sprintf("%-8s loss %.4f", stage, st.Loss)
	if st.Acc > 0 {
		desc += fmt.Sprintf(" acc %.3f", st.Acc)
	}
	desc += fmt.Sprintf(" lr %.2e %.0f tok/s", st.LR, tps)
	if p.tty {
		p.bar.Describe(desc)
		p.bar.Set(st.Step)
		return
	}
	every := max(total/20, 1)
	if st.Step%every == 0 || st.Step == total {
		fmt.Fprintf(os.Stderr, "%s step %d/%d %s\n", time.Now().Format("15:04:05"), st.Step, total, desc)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// logger returns the job's logger: notes on stderr, above the progress bar.
func (p *progress) logger() *slog.Logger {
	return newLineLogger(os.Stderr, func() {
		if p.bar != nil {
			p.bar.Clear()
		}
	})
}

// policyFlags are the inputs shared by bon, rl and winrate.
type policyFlags struct {
	manifest, results, prompts, control string
	maxPrompts                          int
}

func (pf *policyFlags) add(fs *pflag.FlagSet, sweepFlags bool) {
	if sweepFlags {
		fs.StringVar(&pf.manifest, "sweep", "", "sweep manifest whose members the rewards use (e.g. DIR/sweep/manifest.json)")
		fs.StringVar(&pf.results, "results", "", "experiment results.json ranking the members (default: DIR/report/results.json beside the sweep, else rank by ood_dev accuracy)")
	}
	fs.StringVar(&pf.prompts, "prompts", "", "prompt JSONL file ({\"prompt\": ...} a line; e.g. DIR/data/prompts.jsonl)")
	fs.IntVar(&pf.maxPrompts, "max-prompts", 0, "use the first N prompts (0: all)")
	fs.StringVar(&pf.control, "control", "gold", "control reward: gold (synthetic task), rm:PATH (a control RM) or fluency:PATH (a language model's mean log-probability per response token)")
}

// loadPrompts reads the prompt texts.
func (pf *policyFlags) loadPrompts() ([]string, error) {
	if pf.prompts == "" {
		return nil, errors.New("--prompts FILE is required")
	}
	ex, _, err := data.LoadExamples(pf.prompts, data.LoadOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ex {
		out = append(out, e.Prompt)
	}
	if pf.maxPrompts > 0 && len(out) > pf.maxPrompts {
		out = out[:pf.maxPrompts]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no prompts", pf.prompts)
	}
	return out, nil
}

// rewards opens the sweep (if any).
func (pf *policyFlags) rewards(cmd *cobra.Command, log *slog.Logger) (*policy.Rewards, error) {
	if pf.manifest == "" {
		return policy.NewRewards(), nil
	}
	rs, err := policy.OpenRewards(cmd.Context(), pf.manifest, policy.RankOptions{Results: pf.results, Log: log})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(rs.Ranking))
	for r, i := range rs.Ranking {
		names[r] = rs.Manifest.Members[i].Name
	}
	log.Info("members ranked", "by", rs.RankedBy, "order", strings.Join(names, " > "))
	return rs, nil
}

// addSampleFlags registers the sampling flags, --seed the sampling seed.
func addSampleFlags(fs *pflag.FlagSet, c *sample.Config) {
	addSampleFlagsNoSeed(fs, c)
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "sampling seed")
}

// addSampleFlagsNoSeed registers the sampling flags but the seed (rl seeds
// its per-step sampling with its own --seed).
func addSampleFlagsNoSeed(fs *pflag.FlagSet, c *sample.Config) {
	fs.Float64Var(&c.Temperature, "temperature", c.Temperature, "sampling temperature (0: greedy)")
	fs.IntVar(&c.TopK, "top-k", c.TopK, "keep the K most likely tokens (0: all)")
	fs.Float64Var(&c.TopP, "top-p", c.TopP, "nucleus sampling mass (0: off)")
	fs.IntVar(&c.MaxTokens, "max-tokens", c.MaxTokens, "maximum response tokens (EOS included)")
	fs.IntVar(&c.BatchSize, "gen-batch", c.BatchSize, "sequences decoded together")
}
