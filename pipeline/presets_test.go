package pipeline

import (
	"testing"

	"github.com/warm-rm/warm/train"
)

func TestPresetsAreValid(t *testing.T) {
	for name, c := range map[string]train.Config{
		"pretrain": PretrainConfig(), "sft": SFTConfig(), "rm": RMConfig(), "member": MemberConfig(),
		"demo pretrain": DemoPretrainConfig(),
		"synthetic sft": SyntheticSFTConfig(), "ethics pretrain": EthicsPretrainConfig(),
		"ethics sft": EthicsSFTConfig(), "ethics member": EthicsMemberConfig(),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}
