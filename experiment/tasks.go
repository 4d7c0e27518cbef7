package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
)

// Synthetic prepares the embedded synthetic task in dir/data (reusing the
// files if they exist). cfg nil means the default task; its Seed is
// replaced by seed and its corruption is left to the sweep.
func Synthetic(ctx context.Context, dir string, seed uint64, cfg *synth.Config) (*Task, error) {
	scfg := synth.DefaultConfig()
	if cfg != nil {
		scfg = *cfg
	}
	scfg.Seed, scfg.CorruptRate = seed, 0
	st, err := synth.Generate(ctx, scfg)
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	if _, err := os.Stat(dataDir); err != nil {
		if err := st.WriteDir(dataDir); err != nil {
			return nil, err
		}
	}
	return &Task{
		Title:      "the synthetic task",
		CorpusDocs: st.Corpus,
		SFT:        st.SFT,
		Train:      filepath.Join(dataDir, synth.FileTrain),
		Eval: []sweep.EvalSet{
			{Name: "test", Path: filepath.Join(dataDir, synth.FileTest)},
			{Name: "ood_dev", Path: filepath.Join(dataDir, synth.FileOODDev)},
			{Name: "ood_test", Path: filepath.Join(dataDir, synth.FileOODTest)},
		},
		Vocab:    1024,
		Shape:    pipeline.DemoShape,
		Pretrain: pipeline.DemoPretrainConfig(),
		SFTCfg:   pipeline.SyntheticSFTConfig(),
		Member:   pipeline.MemberConfig(),
		LRs:      []float64{3e-5, 1e-4, 3e-4},
		Dropouts: []float32{0, 0.1},
		Notes: []string{fmt.Sprintf("Synthetic task (seed %d): %d train pairs, %d ID test, %d OOD dev, %d OOD test. Out of distribution the length shortcut that holds in training is reversed (see data/synth).",
			seed, len(st.Train.Pairs), len(st.Test.Pairs), len(st.OODDev.Pairs), len(st.OODTest.Pairs))},
	}, nil
}
