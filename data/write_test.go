package data

import (
	"path/filepath"
	"testing"
)

func TestWriteTRLRoundTrip(t *testing.T) {
	pairs := []Pair{
		{ID: 3, Prompt: "", Chosen: "I found <money>.", Rejected: "I lost money & keys.", Source: "a.csv:1"},
		{ID: 9, Prompt: "Q: \"hi\"\n", Chosen: " yes", Rejected: " no", Flipped: true},
	}
	p := filepath.Join(t.TempDir(), "x.jsonl")
	if err := WriteTRL(p, pairs); err != nil {
		t.Fatal(err)
	}
	got, _, err := LoadPairs(p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d pairs", len(got))
	}
	for i := range pairs {
		g, w := got[i], pairs[i]
		if g.ID != w.ID || g.Prompt != w.Prompt || g.Chosen != w.Chosen || g.Rejected != w.Rejected || g.Flipped != w.Flipped {
			t.Errorf("pair %d: got %+v, want %+v", i, g, w)
		}
	}
}
