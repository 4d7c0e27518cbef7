package eval

import (
	"context"
	"testing"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

func TestScoreSeqsMatchesSingleSequences(t *testing.T) {
	m, err := model.New(model.Config{VocabSize: 50, NPositions: 16, NEmbd: 16, NLayer: 1, NHead: 2, PadID: 0, RewardHead: true})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(3)
	seqs := []data.Seq{
		{Tokens: []int32{5, 6, 7, 0}, Start: 2}, // ends with the pad id (= EOS here)
		{Tokens: []int32{9, 8, 7, 6, 5, 4, 3}, Start: 3},
		{Tokens: []int32{1}, Start: 0},
		{Tokens: []int32{2, 3, 4, 5, 6}, Start: 1},
	}
	got, err := ScoreSeqs(context.Background(), m, seqs, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range seqs {
		r, err := m.RewardForward(s.Tokens, 1, len(s.Tokens), []int{len(s.Tokens)}, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != r[0] {
			t.Errorf("sequence %d: batched %v, alone %v", i, got[i], r[0])
		}
	}
	if _, err := ScoreSeqs(context.Background(), m, []data.Seq{{Tokens: make([]int32, 17)}}, 3); err == nil {
		t.Error("a sequence longer than the context was accepted")
	}
	if _, err := ScoreSeqs(context.Background(), m, []data.Seq{{}}, 3); err == nil {
		t.Error("an empty sequence was accepted")
	}
}
