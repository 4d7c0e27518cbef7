package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/tokenizer"
	"github.com/warm-rm/warm/train"
)

// PretrainOptions sets up pre-training of a base language model.
type PretrainOptions struct {
	// Out is the checkpoint directory to write.
	Out     string
	Replace bool
	// Corpus lists text files (one document a line); Docs adds documents
	// in memory. At least one document is needed.
	Corpus []string
	Docs   []string
	// Tokenizer is a tokenizer.json to use; when empty a byte-level BPE of
	// VocabSize tokens is trained on the corpus.
	Tokenizer string
	VocabSize int
	Shape     Shape
	Dropout   float32
	// InitSeed seeds the weight initialisation.
	InitSeed uint64
	// ValFrac holds out this fraction of the corpus windows (the last
	// ones) to report a validation loss.
	ValFrac float64
	Train   train.Config
	Resume  Resume
	// Progress and Log, when set, receive progress and notes.
	Progress Progress
	Log      *slog.Logger
}

// PretrainResult is what pre-training produced.
type PretrainResult struct {
	Checkpoint *checkpoint.Checkpoint
	History    []train.Stats
	// Tokens is the size of the packed training stream; Epochs how many
	// passes over it the steps made.
	Tokens  int
	Epochs  float64
	ValLoss float64
	Wall    time.Duration
}

// Pretrain trains a base model from a random initialisation with the
// next-token loss and saves it (role "base").
func Pretrain(ctx context.Context, o PretrainOptions) (*PretrainResult, error) {
	start := time.Now()
	if err := checkOut(o.Out, o.Replace); err != nil {
		return nil, err
	}
	if err := o.Resume.check(o.Out); err != nil {
		return nil, err
	}
	docs := slices.Clone(o.Docs)
	for _, path := range o.Corpus {
		d, st, err := data.LoadText(path)
		if err != nil {
			return nil, err
		}
		Logger(o.Log).Info("corpus", "file", path, "documents", st.Records)
		docs = append(docs, d...)
	}
	if len(docs) == 0 {
		return nil, errors.New("pretrain: the corpus is empty")
	}
	tok, err := loadOrTrainTokenizer(ctx, o.Tokenizer, docs, o.VocabSize, o.Log)
	if err != nil {
		return nil, err
	}
	stream, err := data.PackTokens(ctx, tok, docs)
	if err != nil {
		return nil, err
	}
	T := o.Shape.Context
	windows := data.LMWindows(len(stream), T)
	nVal := int(math.Round(o.ValFrac * float64(windows)))
	if nVal >= windows {
		return nil, fmt.Errorf("pretrain: validation fraction %g leaves no training windows", o.ValFrac)
	}
	trainStream := stream[:(windows-nVal)*T+1]
	valStream := stream[(windows-nVal)*T:]
	Logger(o.Log).Info("pretrain: data", "tokens", len(stream), "windows", windows, "window", T, "held_out", nVal)

	cfg := model.Config{
		VocabSize: tok.VocabSize(), NPositions: T, NEmbd: o.Shape.D, NLayer: o.Shape.Layers, NHead: o.Shape.Heads,
		PadID: tok.Pad(), EmbdPdrop: o.Dropout, AttnPdrop: o.Dropout, ResidPdrop: o.Dropout,
	}
	m, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	m.InitWeights(o.InitSeed)
	Logger(o.Log).Info("pretrain: model", "d", cfg.NEmbd, "layers", cfg.NLayer, "heads", cfg.NHead, "context", T, "vocab", cfg.VocabSize, "params", fmt.Sprintf("%.2fM", float64(cfg.NumParams())/1e6))
	step, err := train.PretrainStep(m, trainStream, T, o.Train.BatchSize, o.Train.DataSeed)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	meta := checkpoint.Meta{Role: checkpoint.RoleBase, HParams: hparams(map[string]any{
		"job": "pretrain", "train": o.Train, "shape": o.Shape, "dropout": o.Dropout, "init_seed": o.InitSeed,
		"vocab_size": tok.VocabSize(), "corpus_tokens": len(stream),
	})}
	r := &train.Runner{
		Model: m, Tokenizer: tok, Meta: meta, Config: o.Train, Kind: "pretrain", DataID: hashTokens(trainStream),
		StateDir: o.Resume.dir(o.Out), StateEvery: o.Resume.Every,
		Progress: stageProgress(o.Progress, "pretrain", o.Train.Steps),
	}
	hist, err := r.Run(ctx, step)
	if err != nil {
		return nil, fmt.Errorf("pretrain: %w", err)
	}
	res := &PretrainResult{History: hist, Tokens: len(trainStream), Epochs: float64(o.Train.Steps*o.Train.BatchSize*T) / float64(len(trainStream))}
	if nVal > 0 {
		if res.ValLoss, err = train.LMLoss(ctx, m, valStream, T, o.Train.BatchSize, 0); err != nil {
			return nil, fmt.Errorf("pretrain: validation: %w", err)
		}
		Logger(o.Log).Info("pretrain: validation", "loss", fmt.Sprintf("%.4f", res.ValLoss), "perplexity", fmt.Sprintf("%.2f", math.Exp(res.ValLoss)))
	}
	meta.Step = o.Train.Steps
	ck := &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: meta}
	if err := finish(o.Out, o.Replace, ck, o.Resume); err != nil {
		return nil, err
	}
	res.Checkpoint = ck
	res.Wall = time.Since(start)
	return res, nil
}

func stageProgress(p Progress, stage string, total int) func(train.Stats) {
	if p == nil {
		return nil
	}
	return func(st train.Stats) { p(stage, st, total) }
}

func loadOrTrainTokenizer(ctx context.Context, path string, docs []string, vocab int, log *slog.Logger) (*tokenizer.Tokenizer, error) {
	if path != "" {
		return tokenizer.Load(path)
	}
	t0 := time.Now()
	tok, err := tokenizer.Train(ctx, slices.Values(docs), tokenizer.TrainConfig{VocabSize: vocab})
	if err != nil {
		return nil, fmt.Errorf("training the tokenizer: %w", err)
	}
	Logger(log).Info("tokenizer: trained", "vocab", tok.VocabSize(), "wall", time.Since(t0).Round(time.Millisecond))
	return tok, nil
}
