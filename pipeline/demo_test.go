package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/train"
)

// TestDemoTiny runs the whole demo on a tiny task with a few steps per
// stage, and checks that every output exists, loads, and carries the
// metadata that ties it to the base.
func TestDemoTiny(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 200, 50, 50, 50
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 10, 100, 80_000
	dir := filepath.Join(t.TempDir(), "demo")
	res, err := Demo(context.Background(), DemoOptions{Dir: dir, Seed: 3, Scale: 0.01, Task: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	base, err := checkpoint.Load(res.Base)
	if err != nil {
		t.Fatal(err)
	}
	if base.Meta.Role != checkpoint.RoleBase || base.Meta.BaseFingerprint != base.Meta.Fingerprint {
		t.Errorf("base meta %+v", base.Meta)
	}
	for _, p := range append([]string{res.SFT, res.RM}, res.Snapshots...) {
		ck, err := checkpoint.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Meta.BaseFingerprint != base.Meta.Fingerprint {
			t.Errorf("%s: base fingerprint %q, want %q", p, ck.Meta.BaseFingerprint, base.Meta.Fingerprint)
		}
	}
	rm, _ := checkpoint.Load(res.RM)
	if !rm.Model.Config.RewardHead || rm.Meta.Role != checkpoint.RoleRM {
		t.Errorf("rm: %+v", rm.Meta)
	}
	if len(res.Eval) != 4 || res.Eval[1].Summary.N != 50 {
		t.Errorf("eval %+v", res.Eval)
	}
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back DemoResult
	if err := json.Unmarshal(b, &back); err != nil || back.RM != res.RM {
		t.Errorf("demo.json: %v", err)
	}
	// No training state is left behind.
	for _, p := range []string{res.Base, res.SFT, res.RM} {
		if _, err := os.Stat(p + ".state"); err == nil {
			t.Errorf("%s.state left behind", p)
		}
	}
	// A second run refuses to overwrite.
	if _, err := Demo(context.Background(), DemoOptions{Dir: dir, Seed: 3, Scale: 0.01, Task: &cfg}); err == nil {
		t.Error("demo overwrote its output")
	}
}

func TestPresetsAreValid(t *testing.T) {
	for name, c := range map[string]train.Config{
		"pretrain": PretrainConfig(), "sft": SFTConfig(), "rm": RMConfig(), "member": MemberConfig(),
		"demo pretrain": DemoPretrainConfig(), "demo sft": DemoSFTConfig(), "demo rm": DemoRMConfig(),
		"synthetic sft": SyntheticSFTConfig(), "ethics pretrain": EthicsPretrainConfig(),
		"ethics sft": EthicsSFTConfig(), "ethics member": EthicsMemberConfig(),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}
