package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/train"
)

// SFTOptions sets up supervised fine-tuning of a base model.
type SFTOptions struct {
	Out     string
	Replace bool
	// Init is the checkpoint to fine-tune (normally the pre-trained base).
	Init string
	// Data is a file of demonstrations: prompt/completion JSONL, or a
	// preference file whose (original) chosen responses are used.
	// Examples adds demonstrations in memory.
	Data     string
	Examples []data.Example
	// MaxLen bounds a demonstration's tokens (default: the model's context).
	MaxLen int
	// Dropout, when set, replaces the model's dropout probabilities.
	Dropout *float32
	// SaveAt lists steps after which a snapshot is saved into SnapshotDir
	// (default Out + ".steps") as step-NNNNNN: WARM's Baklava inits.
	SaveAt      []int
	SnapshotDir string
	Train       train.Config
	Resume      Resume
	Progress    Progress
	Log         *slog.Logger
}

// SFTResult is what fine-tuning produced.
type SFTResult struct {
	Checkpoint *checkpoint.Checkpoint
	History    []train.Stats
	// Snapshots are the snapshot directories, in step order.
	Snapshots []string
	Wall      time.Duration
}

// SFT fine-tunes Init on demonstrations with the next-token loss on the
// response tokens, and saves the result (role "sft") and its snapshots.
func SFT(ctx context.Context, o SFTOptions) (*SFTResult, error) {
	start := time.Now()
	if err := checkOut(o.Out, o.Replace); err != nil {
		return nil, err
	}
	if err := o.Resume.check(o.Out); err != nil {
		return nil, err
	}
	base, err := checkpoint.Load(o.Init)
	if err != nil {
		return nil, err
	}
	if base.Tokenizer == nil {
		return nil, fmt.Errorf("sft: %s has no tokenizer.json", o.Init)
	}
	ex := slices.Clone(o.Examples)
	if o.Data != "" {
		more, err := loadDemonstrations(o.Data, o.Log)
		if err != nil {
			return nil, err
		}
		ex = append(ex, more...)
	}
	if len(ex) == 0 {
		return nil, errors.New("sft: no demonstrations")
	}
	m := base.Model
	if o.Dropout != nil {
		m, err = withDropout(m, *o.Dropout)
		if err != nil {
			return nil, err
		}
	}
	maxLen := o.MaxLen
	if maxLen <= 0 || maxLen > m.Config.NPositions+1 {
		maxLen = m.Config.NPositions + 1 // inputs are the sequence minus its last token
	}
	seqs, trunc, err := data.TokenizeSFT(ctx, base.Tokenizer, ex, maxLen)
	if err != nil {
		return nil, err
	}
	Logger(o.Log).Info("sft: data", "demonstrations", len(seqs), "truncated", trunc.Truncated(), "max_tokens", maxLen)
	step, err := train.SFTStep(m, seqs, base.Tokenizer.Pad(), o.Train.BatchSize, o.Train.DataSeed)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	meta := checkpoint.Meta{Role: checkpoint.RoleSFT, BaseFingerprint: base.Meta.BaseFingerprint, HParams: hparams(map[string]any{
		"job": "sft", "init": o.Init, "init_fingerprint": base.Meta.Fingerprint, "train": o.Train, "dropout": o.Dropout, "max_len": maxLen,
	})}
	snaps, err := newSnapshots(o.Out, o.SnapshotDir, o.SaveAt, o.Train.Steps)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	r := &train.Runner{
		Model: m, Tokenizer: base.Tokenizer, Meta: meta, Config: o.Train, Kind: "sft", DataID: hashSeqs(seqs),
		StateDir: o.Resume.dir(o.Out), StateEvery: o.Resume.Every,
		Progress: stageProgress(o.Progress, "sft", o.Train.Steps),
		AfterStep: snaps.afterStep(func() *checkpoint.Checkpoint {
			return &checkpoint.Checkpoint{Model: m, Tokenizer: base.Tokenizer, Meta: meta}
		}, o.Log),
	}
	hist, err := r.Run(ctx, step)
	if err != nil {
		return nil, fmt.Errorf("sft: %w", err)
	}
	res := &SFTResult{Snapshots: snaps.paths()}
	meta.Step = o.Train.Steps
	ck := &checkpoint.Checkpoint{Model: m, Tokenizer: base.Tokenizer, Meta: meta}
	if err := finish(o.Out, o.Replace, ck, o.Resume); err != nil {
		return nil, err
	}
	res.Checkpoint, res.History, res.Wall = ck, hist, time.Since(start)
	return res, nil
}

// loadDemonstrations reads SFT data: prompt/completion JSONL, or a
// preference file (its original chosen responses).
func loadDemonstrations(path string, log *slog.Logger) ([]data.Example, error) {
	f, err := data.DetectFormat(path)
	if err != nil {
		return nil, err
	}
	if f == data.FormatExamplesJSONL {
		ex, st, err := data.LoadExamples(path, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		Logger(log).Info("sft data", "file", path, "stats", st.Summary())
		return ex, nil
	}
	pairs, st, err := data.LoadPairs(path, data.LoadOptions{})
	if err != nil {
		return nil, err
	}
	Logger(log).Info("sft data: the chosen responses of preference pairs", "file", path, "stats", st.Summary())
	return data.SFTFromPairs(pairs), nil
}
