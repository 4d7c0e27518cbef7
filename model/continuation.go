package model

import "fmt"

// Continuations lays (prompt, continuation) pairs out as LMForward reads
// them, teacher-forced: row b's inputs are prompt ++ continuation minus its
// last token, right-padded to T; its targets are the same sequence shifted
// by one; Mask is 1 at the positions that predict a continuation token
// (First[b] to First[b]+N[b]-1) and 0 elsewhere. RL's log-probabilities and
// policy gradient and the fluency judge all read sequences this way.
type Continuations struct {
	B, T            int
	Tokens, Targets []int32
	Mask            []float32
	First, N        []int
}

// NewContinuations lays out prompts[b] ++ conts[b] for every b, padding with
// pad. Every prompt and continuation needs a token.
func NewContinuations(prompts, conts [][]int32, pad int) (*Continuations, error) {
	if len(prompts) != len(conts) {
		return nil, fmt.Errorf("model: %d prompts for %d continuations", len(prompts), len(conts))
	}
	c := &Continuations{B: len(prompts), First: make([]int, len(prompts)), N: make([]int, len(prompts))}
	for b := range prompts {
		if len(prompts[b]) == 0 || len(conts[b]) == 0 {
			return nil, fmt.Errorf("model: continuation %d: %d prompt and %d continuation tokens (each needs one)", b, len(prompts[b]), len(conts[b]))
		}
		c.T = max(c.T, len(prompts[b])+len(conts[b])-1)
	}
	c.T = max(c.T, 1)
	c.Tokens = make([]int32, c.B*c.T)
	c.Targets = make([]int32, c.B*c.T)
	c.Mask = make([]float32, c.B*c.T)
	for b := range prompts {
		seq := append(prompts[b][:len(prompts[b]):len(prompts[b])], conts[b]...)
		row := c.Tokens[b*c.T : (b+1)*c.T]
		for i := range row {
			row[i] = int32(pad)
		}
		copy(row, seq[:len(seq)-1])
		copy(c.Targets[b*c.T:(b+1)*c.T], seq[1:])
		c.First[b], c.N[b] = len(prompts[b])-1, len(conts[b])
		for t := c.First[b]; t < c.First[b]+c.N[b]; t++ {
			c.Mask[b*c.T+t] = 1
		}
	}
	return c, nil
}

// ContinuationLogProbs returns log p(conts[b] | prompts[b]) for every b,
// summed over the continuation's tokens in token order in float64, from one
// LMForward pass without dropout.
func (m *Model) ContinuationLogProbs(prompts, conts [][]int32) ([]float64, error) {
	c, err := NewContinuations(prompts, conts, m.Config.PadID)
	if err != nil {
		return nil, err
	}
	if _, err := m.LMForward(c.Tokens, c.B, c.T, c.Targets, c.Mask, false, 0); err != nil {
		return nil, err
	}
	tl := m.TokenLosses()
	out := make([]float64, c.B)
	for b := range out {
		for t := c.First[b]; t < c.First[b]+c.N[b]; t++ {
			out[b] -= float64(tl[b*c.T+t])
		}
	}
	return out, nil
}
