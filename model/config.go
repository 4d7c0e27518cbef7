package model

import (
	"errors"
	"fmt"
)

// Config is a GPT-2 model configuration, with the field meanings of Hugging
// Face's GPT2Config.
type Config struct {
	VocabSize  int // vocab_size: rows of the token embedding and of the LM head
	NPositions int // n_positions: the longest sequence the model accepts
	NEmbd      int // n_embd: the model width d
	NLayer     int // n_layer: number of transformer blocks
	NHead      int // n_head: attention heads; NEmbd must be a multiple of it

	// LayerNormEps is layer_norm_epsilon (1e-5 in GPT-2). Zero means 1e-5.
	LayerNormEps float32

	// Dropout probabilities (embd_pdrop, attn_pdrop, resid_pdrop), in [0, 1).
	// They act only in training passes.
	EmbdPdrop, AttnPdrop, ResidPdrop float32

	// PadID is pad_token_id: the token that right-pads sequences.
	PadID int

	// RewardHead adds score.weight [1, NEmbd], the
	// GPT2ForSequenceClassification head with num_labels 1 and no bias.
	RewardHead bool
}

// DefaultLayerNormEps is GPT-2's LayerNorm epsilon.
const DefaultLayerNormEps = 1e-5

// Eps returns the LayerNorm epsilon, DefaultLayerNormEps when unset.
func (c Config) Eps() float32 {
	if c.LayerNormEps == 0 {
		return DefaultLayerNormEps
	}
	return c.LayerNormEps
}

// HeadDim returns NEmbd / NHead.
func (c Config) HeadDim() int { return c.NEmbd / c.NHead }

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	switch {
	case c.VocabSize < 1:
		return fmt.Errorf("model config: vocab_size %d < 1", c.VocabSize)
	case c.NPositions < 1:
		return fmt.Errorf("model config: n_positions %d < 1", c.NPositions)
	case c.NEmbd < 1:
		return fmt.Errorf("model config: n_embd %d < 1", c.NEmbd)
	case c.NLayer < 1:
		return fmt.Errorf("model config: n_layer %d < 1", c.NLayer)
	case c.NHead < 1:
		return fmt.Errorf("model config: n_head %d < 1", c.NHead)
	case c.NEmbd%c.NHead != 0:
		return fmt.Errorf("model config: n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	case c.LayerNormEps < 0:
		return fmt.Errorf("model config: layer_norm_epsilon %g < 0", c.LayerNormEps)
	case c.PadID < 0 || c.PadID >= c.VocabSize:
		return fmt.Errorf("model config: pad_token_id %d outside the vocabulary [0, %d)", c.PadID, c.VocabSize)
	}
	for _, p := range []struct {
		name string
		v    float32
	}{{"embd_pdrop", c.EmbdPdrop}, {"attn_pdrop", c.AttnPdrop}, {"resid_pdrop", c.ResidPdrop}} {
		if !(p.v >= 0 && p.v < 1) {
			return fmt.Errorf("model config: %s %g outside [0, 1)", p.name, p.v)
		}
	}
	return nil
}

// NumParams returns the number of float32 parameters of the configuration.
func (c Config) NumParams() int {
	n := 0
	for _, s := range c.layout() {
		n += s.size()
	}
	return n
}

// Lengths returns the length of each of the B right-padded sequences in
// tokens ([B, T], row-major), Hugging Face style: the index of the first
// PadID token, or T when there is none. A sequence that starts with PadID
// has length 0, which the passes reject.
func (c Config) Lengths(tokens []int32, B, T int) ([]int, error) {
	if B < 1 || T < 1 || len(tokens) != B*T {
		return nil, fmt.Errorf("lengths: %d tokens for B=%d, T=%d", len(tokens), B, T)
	}
	lengths := make([]int, B)
	for b := range B {
		lengths[b] = T
		for t, tok := range tokens[b*T : (b+1)*T] {
			if int(tok) == c.PadID {
				lengths[b] = t
				break
			}
		}
	}
	return lengths, nil
}

var errNoForward = errors.New("backward pass without a matching forward pass")
