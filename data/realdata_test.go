package data

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRealData checks the loaders on the shared real data: record counts as
// in its README, nothing skipped, and the HH prompt split.
func TestRealData(t *testing.T) {
	dir := sharedData(t)
	counts := map[string]int{
		"ethics-util/train.csv":               13738,
		"ethics-util/test.csv":                4808,
		"ethics-util/test_hard_dev.csv":       2135,
		"hh-rlhf/harmless-base-test.jsonl.gz": 2312,
	}
	for name, want := range counts {
		pairs, st, err := LoadPairs(filepath.Join(dir, name), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != want || st.Skipped != 0 {
			t.Errorf("%s: %d pairs (%d skipped), want %d", name, len(pairs), st.Skipped, want)
		}
		if strings.HasPrefix(name, "hh-rlhf") {
			for _, p := range pairs {
				if !strings.HasSuffix(p.Prompt, AssistantMarker) {
					t.Fatalf("%s: HH prompt does not end with the assistant marker: %q", p.Source, p.Prompt[max(0, len(p.Prompt)-60):])
				}
				if strings.Contains(p.Chosen, AssistantMarker) && strings.Contains(p.Rejected, AssistantMarker) {
					t.Errorf("%s: both responses span several assistant turns", p.Source)
				}
			}
		}
	}
	lines := map[string]int{"corpus/brown.txt": 57340, "corpus/ethics-text.txt": 53289}
	for name, want := range lines {
		st, err := EachText(filepath.Join(dir, name), func(string) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if st.Records+st.Blank != want {
			t.Errorf("%s: %d documents + %d blank lines, want %d lines", name, st.Records, st.Blank, want)
		}
	}
}
