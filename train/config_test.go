package train

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/warm-rm/warm/optim"
)

// TestDecay checks the one decay parse and that configs keep their JSON
// spelling: a stored config loads and serialises to the same bytes.
func TestDecay(t *testing.T) {
	for d, want := range map[Decay]optim.Decay{DecayCosine: optim.Cosine, DecayLinear: optim.Linear, DecayConstant: optim.Constant} {
		got, err := ParseDecay(string(d))
		if err != nil || got != d {
			t.Errorf("ParseDecay(%q) = %q, %v", d, got, err)
		}
		c := DefaultConfig()
		c.Decay = d
		s, err := c.schedule()
		if err != nil || s.Decay != want {
			t.Errorf("%s: schedule decay %v, %v", d, s.Decay, err)
		}
	}
	for _, bad := range []string{"", "Cosine", "exp"} {
		if _, err := ParseDecay(bad); err == nil {
			t.Errorf("ParseDecay(%q) accepted", bad)
		}
		c := DefaultConfig()
		c.Decay = Decay(bad)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "decay") {
			t.Errorf("Validate with decay %q: %v", bad, err)
		}
		if _, err := c.schedule(); err == nil {
			t.Errorf("schedule with decay %q: no error", bad)
		}
	}
	stored := `{"steps":10,"batch_size":4,"lr":0.001,"min_lr":0.0001,"warmup":2,"decay":"linear","weight_decay":0.01,"beta1":0.9,"beta2":0.999,"eps":1e-8,"clip_norm":1,"seed":1,"data_seed":1}`
	var c Config
	if err := json.Unmarshal([]byte(stored), &c); err != nil {
		t.Fatal(err)
	}
	if c.Decay != DecayLinear {
		t.Errorf("decay %q", c.Decay)
	}
	b, err := json.Marshal(c)
	if err != nil || string(b) != stored {
		t.Errorf("re-encoded\n%s\nwant\n%s (%v)", b, stored, err)
	}
}
