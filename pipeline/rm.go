package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/train"
)

// PairSet is a named set of preference pairs to evaluate on.
type PairSet struct {
	Name  string
	Pairs []data.Pair
}

// RMOptions sets up the training of one reward model.
type RMOptions struct {
	Out     string
	Replace bool
	// Init is the checkpoint the trunk starts from: the base, an SFT
	// snapshot (a Baklava init) or a reward model.
	Init string
	// Head is a reward-model checkpoint whose score.weight the new model
	// starts with: the linear-probed head a WARM sweep shares. When empty,
	// Init's head is used if it has one, else a zero head that Probe fits.
	Head string
	// Data is a preference file; Pairs adds pairs in memory.
	Data  string
	Pairs []data.Pair
	// CorruptRate flips that fraction of the training labels (seeded by
	// CorruptSeed: the same pairs for every member of a sweep).
	CorruptRate float64
	CorruptSeed uint64
	// MaxLen bounds a sequence's tokens (default: the model's context).
	MaxLen int
	// Dropout, when set, replaces the model's dropout probabilities.
	Dropout *float32
	// Probe fits the head on frozen features before fine-tuning (when the
	// head is not given); Probe.Steps 0 skips it.
	Probe train.ProbeConfig
	// ProbeOnly stops after the probe: the output is the base trunk with
	// the fitted head, the shared head of a sweep.
	ProbeOnly bool
	Train     train.Config
	// SaveAt lists steps after which a snapshot is saved into SnapshotDir
	// (default Out + ".steps"), e.g. for linear mode connectivity between
	// two checkpoints of one run.
	SaveAt      []int
	SnapshotDir string
	// InitLabel and HeadLabel, when set, are recorded in the checkpoint's
	// hyper-parameters ("init", "head") instead of the Init and Head paths,
	// so that a member trained at a federated site does not reveal the
	// site's file system (sweep.Bundle.RMOptions sets them).
	InitLabel, HeadLabel string
	// Eval lists pair sets scored after training.
	Eval     []PairSet
	Resume   Resume
	Progress Progress
	Log      *slog.Logger
}

// RMResult is what reward-model training produced.
type RMResult struct {
	Checkpoint *checkpoint.Checkpoint
	History    []train.Stats
	// ProbeAcc is the linear probe's training accuracy (when it ran).
	ProbeAcc float64
	// Flipped is the number of corrupted training labels.
	Flipped int
	// Snapshots are the snapshot directories, in step order.
	Snapshots []string
	Eval      []SetResult
	Wall      time.Duration
}

// SetResult is a model's evaluation on one pair set.
type SetResult struct {
	Name    string       `json:"name"`
	Summary eval.Summary `json:"summary"`
}

// TrainRM trains one reward model with the Bradley–Terry loss and saves it
// (role "rm").
func TrainRM(ctx context.Context, o RMOptions) (*RMResult, error) {
	start := time.Now()
	if !o.ProbeOnly && o.Train.Steps < 1 {
		return nil, errors.New("train: steps must be at least 1 (or use --probe-only)")
	}
	if err := checkOut(o.Out, o.Replace); err != nil {
		return nil, err
	}
	if err := o.Resume.check(o.Out); err != nil {
		return nil, err
	}
	init, err := checkpoint.Load(o.Init)
	if err != nil {
		return nil, err
	}
	tok := init.Tokenizer
	if tok == nil {
		return nil, fmt.Errorf("train: %s has no tokenizer.json", o.Init)
	}
	var head []float32
	headFrom := ""
	switch {
	case o.Head != "":
		hc, err := checkpoint.Load(o.Head)
		if err != nil {
			return nil, err
		}
		if head, err = train.Head(hc.Model); err != nil {
			return nil, fmt.Errorf("train: head %s: %w", o.Head, err)
		}
		if hc.Meta.BaseFingerprint != "" && init.Meta.BaseFingerprint != "" && hc.Meta.BaseFingerprint != init.Meta.BaseFingerprint {
			return nil, fmt.Errorf("train: head %s was probed on another base (%s) than %s (%s)", o.Head, hc.Meta.BaseFingerprint, o.Init, init.Meta.BaseFingerprint)
		}
		headFrom = cmp.Or(o.HeadLabel, o.Head)
	case init.Model.Config.RewardHead:
		head, _ = train.Head(init.Model)
		headFrom = cmp.Or(o.InitLabel, o.Init)
	}
	m, err := train.WithRewardHead(init.Model, head, o.Dropout)
	if err != nil {
		return nil, err
	}
	pairs := slices.Clone(o.Pairs)
	if o.Data != "" {
		more, st, err := data.LoadPairs(o.Data, data.LoadOptions{})
		if err != nil {
			return nil, err
		}
		Logger(o.Log).Info("train data", "file", o.Data, "stats", st.Summary())
		pairs = append(pairs, more...)
	}
	if len(pairs) == 0 {
		return nil, errors.New("train: no preference pairs")
	}
	res := &RMResult{}
	if o.CorruptRate > 0 {
		if pairs, err = data.Corrupt(pairs, o.CorruptRate, o.CorruptSeed); err != nil {
			return nil, err
		}
		res.Flipped = data.CountFlipped(pairs)
		Logger(o.Log).Info("train: labels flipped", "flipped", res.Flipped, "pairs", len(pairs), "rate", o.CorruptRate, "seed", o.CorruptSeed)
	}
	maxLen := o.MaxLen
	if maxLen <= 0 || maxLen > m.Config.NPositions {
		maxLen = m.Config.NPositions
	}
	tp, trunc, err := data.TokenizePairs(ctx, tok, pairs, maxLen)
	if err != nil {
		return nil, err
	}
	if trunc.Truncated() > 0 {
		Logger(o.Log).Info("train: sequences truncated", "truncated", trunc.Truncated(), "sequences", trunc.Sequences, "max_tokens", maxLen)
	}
	resuming := false
	if o.Resume.Resume {
		if _, err := os.Stat(o.Resume.dir(o.Out)); err == nil {
			resuming = true
		}
	}
	if head == nil && o.Probe.Steps > 0 && !resuming {
		t0 := time.Now()
		c, r, err := train.PairFeatures(ctx, m, tp, tok.Pad(), 64)
		if err != nil {
			return nil, fmt.Errorf("train: probe features: %w", err)
		}
		w, acc, err := train.FitProbe(ctx, c, r, m.Config.NEmbd, o.Probe)
		if err != nil {
			return nil, fmt.Errorf("train: probe: %w", err)
		}
		p, _ := m.Param(train.ScoreName)
		copy(p.Data, w)
		res.ProbeAcc = acc
		headFrom = "probe"
		Logger(o.Log).Info("train: linear probe on frozen features", "train_accuracy", fmt.Sprintf("%.4f", acc), "steps", o.Probe.Steps, "wall", time.Since(t0).Round(time.Millisecond))
	}
	meta := checkpoint.Meta{Role: checkpoint.RoleRM, BaseFingerprint: init.Meta.BaseFingerprint, HParams: hparams(map[string]any{
		"job": "rm", "init": cmp.Or(o.InitLabel, o.Init), "init_fingerprint": init.Meta.Fingerprint, "head": headFrom, "train": o.Train,
		"dropout": o.Dropout, "max_len": maxLen, "corrupt_rate": o.CorruptRate, "corrupt_seed": o.CorruptSeed,
		"probe": o.Probe, "probe_only": o.ProbeOnly, "pairs": len(pairs),
	})}
	if !o.ProbeOnly {
		snaps, err := newSnapshots(o.Out, o.SnapshotDir, o.SaveAt, o.Train.Steps)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		step, err := train.RMStep(m, tp, tok.Pad(), o.Train.BatchSize, o.Train.DataSeed)
		if err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		r := &train.Runner{
			Model: m, Tokenizer: tok, Meta: meta, Config: o.Train, Kind: "rm", DataID: hashPairs(tp),
			StateDir: o.Resume.dir(o.Out), StateEvery: o.Resume.Every,
			Progress: stageProgress(o.Progress, "rm", o.Train.Steps),
			AfterStep: snaps.afterStep(func() *checkpoint.Checkpoint {
				return &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: meta}
			}, o.Log),
		}
		if res.History, err = r.Run(ctx, step); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		res.Snapshots = snaps.paths()
		meta.Step = o.Train.Steps
	}
	for _, set := range o.Eval {
		s, err := EvaluatePairs(ctx, m, tok, set.Pairs, maxLen)
		if err != nil {
			return nil, fmt.Errorf("train: evaluating on %s: %w", set.Name, err)
		}
		res.Eval = append(res.Eval, SetResult{Name: set.Name, Summary: s})
	}
	ck := &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: meta}
	if err := finish(o.Out, o.Replace, ck, o.Resume); err != nil {
		return nil, err
	}
	res.Checkpoint, res.Wall = ck, time.Since(start)
	return res, nil
}

// EvaluatePairs scores pairs with a reward model and summarises the
// accuracy against each pair's label.
func EvaluatePairs(ctx context.Context, m *model.Model, enc data.Encoder, pairs []data.Pair, maxLen int) (eval.Summary, error) {
	c, r, err := ScorePairs(ctx, m, enc, pairs, maxLen)
	if err != nil {
		return eval.Summary{}, err
	}
	return eval.Summarize(c, r), nil
}

// ScorePairs tokenises pairs (at most maxLen tokens a sequence; 0: the
// model's context) and returns the reward of each chosen and rejected
// response.
func ScorePairs(ctx context.Context, m *model.Model, enc data.Encoder, pairs []data.Pair, maxLen int) (chosen, rejected []float32, err error) {
	if maxLen <= 0 || maxLen > m.Config.NPositions {
		maxLen = m.Config.NPositions
	}
	tp, _, err := data.TokenizePairs(ctx, enc, pairs, maxLen)
	if err != nil {
		return nil, nil, err
	}
	return eval.ScorePairs(ctx, m, tp, 64)
}

// withDropout returns a copy of m whose three dropout probabilities are p.
func withDropout(m *model.Model, p float32) (*model.Model, error) {
	cfg := m.Config
	cfg.EmbdPdrop, cfg.AttnPdrop, cfg.ResidPdrop = p, p, p
	out, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	copy(out.Flat, m.Flat)
	return out, nil
}
