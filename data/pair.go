package data

// Pair is one preference judgement: two responses to the same prompt, the
// preferred one (as labelled) in Chosen.
//
// After label corruption ([Corrupt]) Chosen is still the label's choice, so
// training code never needs to look at Flipped: it always prefers Chosen. When
// Flipped is true the label was flipped, i.e. Chosen and Rejected are swapped
// with respect to the original data; [Pair.Original] undoes that. Accuracy
// against the (possibly flipped) label measures memorisation; accuracy against
// Original measures clean accuracy.
type Pair struct {
	// ID identifies the pair within its source: the 0-based record number in
	// the file unless the file gives an explicit "id".
	ID int
	// Prompt is the shared context; empty for prompt-less tasks (ETHICS).
	Prompt string
	// Chosen is the response the label prefers (after any corruption).
	Chosen string
	// Rejected is the other response.
	Rejected string
	// Flipped reports that the label was flipped by corruption: the original
	// data preferred Rejected.
	Flipped bool
	// Source is where the record came from, "file:line".
	Source string
}

// Original returns the responses in their original (uncorrupted) order: the
// preferred one first.
func (p Pair) Original() (chosen, rejected string) {
	if p.Flipped {
		return p.Rejected, p.Chosen
	}
	return p.Chosen, p.Rejected
}

// Example is a prompt with at most one response: an SFT demonstration
// (Prompt + Response) or, with an empty Response, a prompt for policy
// sampling.
type Example struct {
	// ID identifies the example within its source: the 0-based record number
	// unless the file gives an explicit "id".
	ID int
	// Prompt is the context the response follows.
	Prompt string
	// Response is the demonstration; empty for prompt-only records.
	Response string
	// Source is where the record came from, "file:line".
	Source string
}

// SFTFromPairs returns one SFT example per pair: the prompt and the
// originally preferred response (see [Pair.Original]), so label corruption
// never leaks into SFT data.
func SFTFromPairs(pairs []Pair) []Example {
	out := make([]Example, len(pairs))
	for i, p := range pairs {
		c, _ := p.Original()
		out[i] = Example{ID: p.ID, Prompt: p.Prompt, Response: c, Source: p.Source}
	}
	return out
}
