package pipeline

import "github.com/warm-rm/warm/train"

// Stage presets: every default optimisation setting of warm's training
// stages, in one place. The CLI's flag defaults, `warm demo`, the
// experiment's tasks and sweep members all start from these; anything not
// listed (weight decay, Adam betas, clipping, the cosine decay) is
// train.DefaultConfig's.

// schedule is train.DefaultConfig with a stage's length, batch and
// learning-rate schedule.
func schedule(steps, batch int, lr, minLR float64, warmup int) train.Config {
	c := train.DefaultConfig()
	c.Steps, c.BatchSize, c.LR, c.MinLR, c.Warmup = steps, batch, lr, minLR, warmup
	return c
}

// PretrainConfig is `warm pretrain`'s default: 2,000 steps at 2e-3.
func PretrainConfig() train.Config { return schedule(2000, 32, 2e-3, 2e-4, 100) }

// SFTConfig is `warm sft`'s default: 500 steps at 5e-4.
func SFTConfig() train.Config { return schedule(500, 32, 5e-4, 5e-5, 20) }

// RMConfig is `warm train`'s default (one reward model): 600 steps at 1e-4.
func RMConfig() train.Config { return schedule(600, 32, 1e-4, 1e-5, 30) }

// MemberConfig is the optimisation setting of sweep members: 2000 steps of
// 32 pairs, about 3 epochs of the default synthetic task, long enough for
// members to start fitting corrupted labels (with one epoch no member
// memorises anything, and WARM's memorisation claim cannot be tested). The
// learning rate is each member's own.
func MemberConfig() train.Config { return schedule(2000, 32, 1e-4, 0, 100) }

// DemoPretrainConfig pre-trains the synthetic task's base (`warm demo` and
// `warm experiment --task synthetic`): 1,200 steps at 2e-3.
func DemoPretrainConfig() train.Config { return schedule(1200, 32, 2e-3, 2e-4, 60) }

// DemoShape is the model of the synthetic task (`warm demo` and `warm
// experiment --task synthetic`): d=128, 2 layers, 4 heads, context 96.
var DemoShape = Shape{D: 128, Layers: 2, Heads: 4, Context: 96}

// SyntheticSFTConfig is the synthetic experiment's SFT: 3,000 steps at 1e-3.
// At 300 steps the policy writes fluent but invented clauses (mean gold
// -2.9); at 3,000 it copies facts from the post (docs/POLICY.md), which
// best-of-N and RL need, and its three snapshots (1000, 2000, 3000) are the
// Baklava inits.
func SyntheticSFTConfig() train.Config { return schedule(3000, 32, 1e-3, 1e-4, 100) }

// EthicsPretrainConfig pre-trains the ETHICS base on Brown + ETHICS text:
// 6,000 steps at 1e-3.
func EthicsPretrainConfig() train.Config { return schedule(6000, 32, 1e-3, 1e-4, 200) }

// EthicsSFTConfig is the ETHICS SFT: 300 steps at 3e-4.
func EthicsSFTConfig() train.Config { return schedule(300, 32, 3e-4, 3e-5, 20) }

// EthicsMemberConfig is MemberConfig for 1,500 steps: ~4 epochs of the 11.4k
// ETHICS pairs at 32 pairs a step, long enough to fit (and memorise) flipped
// labels.
func EthicsMemberConfig() train.Config {
	c := MemberConfig()
	c.Steps = 1500
	return c
}
