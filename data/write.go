package data

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// trlLine is a line of TRL explicit-prompt preference JSONL.
type trlLine struct {
	ID       int    `json:"id"`
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
	Flipped  bool   `json:"flipped,omitempty"`
	Source   string `json:"source,omitempty"`
}

// WriteTRL writes pairs to path as TRL explicit-prompt JSONL ({"id",
// "prompt", "chosen", "rejected"}, plus "flipped" on corrupted pairs and
// "source", the record they came from), atomically. ReadTRL reads it back.
func WriteTRL(path string, pairs []Pair) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, p := range pairs {
		if err := enc.Encode(trlLine{ID: p.ID, Prompt: p.Prompt, Chosen: p.Chosen, Rejected: p.Rejected, Flipped: p.Flipped, Source: p.Source}); err != nil {
			return fmt.Errorf("writing %s: pair %d: %w", path, p.ID, err)
		}
	}
	return atomicdir.WriteFile(path, b.Bytes())
}
