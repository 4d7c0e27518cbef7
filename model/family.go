package model

import "fmt"

// RewardModel is a reward model of any family as the rest of warm scores
// with it (eval, policy, merge's check, warm score): one reward a token
// sequence. GPT-2 (*Model with a reward head) and the Llama family
// (*Llama, *ForSequenceClassification) implement it.
type RewardModel interface {
	// Rewards returns the reward of every sequence. Sequences are given
	// unpadded, each non-empty and at most MaxLen() tokens; the family's
	// rule says which token the reward is read at (GPT-2: the last one;
	// the Llama family: the rightmost token that is not the pad id).
	// Implementations are not safe for concurrent calls.
	Rewards(seqs [][]int32) ([]float32, error)
	// MaxLen is the longest sequence the model reads.
	MaxLen() int
}

var (
	_ RewardModel = (*Model)(nil)
	_ RewardModel = (*Llama)(nil)
)

// Rewards implements RewardModel: the reward head at each sequence's last
// token (RewardForward on the sequences right-padded, without dropout).
func (m *Model) Rewards(seqs [][]int32) ([]float32, error) {
	if !m.Config.RewardHead {
		return nil, fmt.Errorf("model: the model has no reward head (score.weight)")
	}
	T := 1
	for b, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("model: sequence %d is empty", b)
		}
		T = max(T, len(s))
	}
	if T > m.Config.NPositions {
		return nil, fmt.Errorf("model: a sequence of %d tokens is longer than the model's %d positions", T, m.Config.NPositions)
	}
	pad := int32(max(m.Config.PadID, 0))
	tokens := make([]int32, len(seqs)*T)
	lengths := make([]int, len(seqs))
	for b, s := range seqs {
		row := tokens[b*T : (b+1)*T]
		for i := copy(row, s); i < T; i++ {
			row[i] = pad
		}
		lengths[b] = len(s)
	}
	r, err := m.RewardForward(tokens, len(seqs), T, lengths, false, 0)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), r...), nil
}

// MaxLen implements RewardModel.
func (m *Model) MaxLen() int { return m.Config.NPositions }

// MaxLen implements RewardModel.
func (m *Llama) MaxLen() int { return m.Config.MaxPositions }
