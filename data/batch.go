package data

import (
	"fmt"
	"math/rand/v2"
)

// orderStream is the PCG stream base used by EpochOrder.
const orderStream = 0x0bde7a11

// EpochOrder returns the data order for one epoch: a permutation of 0..n-1
// drawn from rand.NewPCG(seed, orderStream+epoch). It depends only on
// (seed, epoch): the same data-order seed replays the same epochs, and every
// (seed, epoch) gets its own stream, so members with data-order seeds 1 and 2
// never share an epoch's order (as they would with a "seed + epoch" rule,
// where seed 1 epoch 1 equals seed 2 epoch 0).
func EpochOrder(n int, seed uint64, epoch int) []int {
	rng := rand.New(rand.NewPCG(seed, orderStream+uint64(epoch)))
	return rng.Perm(n)
}

// Batches splits EpochOrder(n, seed, epoch) into consecutive batches of
// batchSize indices; the last batch holds the remainder and may be smaller
// (skip it if a fixed size matters). A batch size below 1 is an error.
func Batches(n, batchSize int, seed uint64, epoch int) ([][]int, error) {
	if batchSize < 1 {
		return nil, fmt.Errorf("data: batch size %d < 1", batchSize)
	}
	order := EpochOrder(n, seed, epoch)
	out := make([][]int, 0, (n+batchSize-1)/batchSize)
	for i := 0; i < n; i += batchSize {
		out = append(out, order[i:min(i+batchSize, n)])
	}
	return out, nil
}

// SeqBatch is a right-padded batch of sequences.
type SeqBatch struct {
	// N is the number of rows and T the padded length (the longest row).
	N, T int
	// Tokens is the [N][T] token matrix, row-major, right-padded with the
	// pad id.
	Tokens []int32
	// Lengths holds each row's number of real tokens; the row's last real
	// token (its EOS) is at Lengths[r]-1, which is where a reward head reads.
	Lengths []int
	// Starts holds each row's first response token (Seq.Start).
	Starts []int
}

// Row returns row r of the token matrix.
func (b *SeqBatch) Row(r int) []int32 { return b.Tokens[r*b.T : (r+1)*b.T] }

// MakeSeqBatch pads seqs into one batch, T = the longest sequence.
func MakeSeqBatch(seqs []Seq, pad int) SeqBatch {
	t := 1
	for _, s := range seqs {
		t = max(t, len(s.Tokens))
	}
	b := SeqBatch{N: len(seqs), T: t, Tokens: make([]int32, len(seqs)*t), Lengths: make([]int, len(seqs)), Starts: make([]int, len(seqs))}
	for r, s := range seqs {
		b.fill(r, s, int32(pad))
	}
	return b
}

func (b *SeqBatch) fill(r int, s Seq, pad int32) {
	row := b.Row(r)
	n := copy(row, s.Tokens)
	for i := n; i < len(row); i++ {
		row[i] = pad
	}
	b.Lengths[r] = len(s.Tokens)
	b.Starts[r] = s.Start
}

// PairBatch is a batch of B tokenised pairs for reward-model training.
//
// The token matrix has 2B rows: rows 0..B-1 are the chosen sequences of the
// pairs in order, rows B..2B-1 the rejected ones (row B+i is pair i's
// rejected response). With rewards r (one per row) the Bradley-Terry margin of
// pair i is r[i] - r[B+i]. T is the longest sequence in the batch (at most the
// maxLen the pairs were tokenised with).
type PairBatch struct {
	SeqBatch
	// B is the number of pairs.
	B int
	// Index holds the positions of the batch's pairs in the slice given to
	// MakePairBatch.
	Index []int
	// IDs holds the pairs' IDs.
	IDs []int
	// Flipped holds the pairs' corruption flags.
	Flipped []bool
}

// MakePairBatch builds the batch of pairs tp[idx[0]], tp[idx[1]], ...
// right-padded with pad (see [PairBatch] for the layout).
func MakePairBatch(tp []TokPair, idx []int, pad int) PairBatch {
	bsz := len(idx)
	t := 1
	for _, i := range idx {
		t = max(t, len(tp[i].Chosen.Tokens), len(tp[i].Rejected.Tokens))
	}
	b := PairBatch{
		SeqBatch: SeqBatch{N: 2 * bsz, T: t, Tokens: make([]int32, 2*bsz*t), Lengths: make([]int, 2*bsz), Starts: make([]int, 2*bsz)},
		B:        bsz,
		Index:    append([]int(nil), idx...),
		IDs:      make([]int, bsz),
		Flipped:  make([]bool, bsz),
	}
	for j, i := range idx {
		b.fill(j, tp[i].Chosen, int32(pad))
		b.fill(bsz+j, tp[i].Rejected, int32(pad))
		b.IDs[j] = tp[i].ID
		b.Flipped[j] = tp[i].Flipped
	}
	return b
}

// LMWindows returns how many training windows of T tokens a packed stream of
// n tokens holds: window w has inputs stream[w*T : w*T+T] and next-token
// targets stream[w*T+1 : w*T+T+1], so windows do not overlap and the last
// partial window is dropped.
func LMWindows(n, T int) int {
	if T < 1 || n < 2 {
		return 0
	}
	return (n - 1) / T
}

// LMBatch is a batch of language-model windows.
type LMBatch struct {
	// B is the number of windows and T their length.
	B, T int
	// Inputs is the [B][T] input token matrix, row-major.
	Inputs []int32
	// Targets is the [B][T] next-token matrix: Targets[b][t] = Inputs[b][t+1]
	// within the stream.
	Targets []int32
}

// MakeLMBatch builds the batch of the given windows of a packed stream (see
// [PackTokens] and [LMWindows]); shuffle windows with [Batches]. Windows cut
// across document boundaries, as in GPT-2 pre-training: the EOS between
// documents tells the model where one ends. A window out of range is an
// error.
func MakeLMBatch(stream []int32, T int, windows []int) (LMBatch, error) {
	nw := LMWindows(len(stream), T)
	b := LMBatch{B: len(windows), T: T, Inputs: make([]int32, len(windows)*T), Targets: make([]int32, len(windows)*T)}
	for j, w := range windows {
		if w < 0 || w >= nw {
			return LMBatch{}, fmt.Errorf("data: window %d out of range [0, %d) of a %d-token stream in windows of %d", w, nw, len(stream), T)
		}
		copy(b.Inputs[j*T:(j+1)*T], stream[w*T:w*T+T])
		copy(b.Targets[j*T:(j+1)*T], stream[w*T+1:w*T+T+1])
	}
	return b, nil
}

// SFTBatch is a batch of SFT demonstrations for next-token training with a
// loss mask.
type SFTBatch struct {
	// B is the number of sequences and T the padded input length (the
	// longest sequence minus one).
	B, T int
	// Inputs is the [B][T] input matrix: a sequence without its last token,
	// right-padded with the pad id.
	Inputs []int32
	// Targets is the [B][T] next-token matrix: Targets[b][t] is token t+1 of
	// sequence b (pad id beyond its end).
	Targets []int32
	// Mask is the [B][T] loss mask: 1 where Targets is a response token or
	// the final EOS (target position t+1 >= Seq.Start), 0 on prompt targets
	// and padding.
	Mask []float32
	// Count is the number of ones in Mask (the loss normaliser).
	Count int
}

// MakeSFTBatch builds the SFT batch of seqs[idx[0]], seqs[idx[1]], ...
// right-padded with pad. A response's first token is a target only if some
// prompt token precedes it (Seq.Start > 0).
func MakeSFTBatch(seqs []Seq, idx []int, pad int) SFTBatch {
	t := 1
	for _, i := range idx {
		t = max(t, len(seqs[i].Tokens)-1)
	}
	n := len(idx) * t
	b := SFTBatch{B: len(idx), T: t, Inputs: make([]int32, n), Targets: make([]int32, n), Mask: make([]float32, n)}
	p := int32(pad)
	for j, i := range idx {
		s := seqs[i]
		in, tg, m := b.Inputs[j*t:(j+1)*t], b.Targets[j*t:(j+1)*t], b.Mask[j*t:(j+1)*t]
		for k := 0; k < t; k++ {
			if k+1 < len(s.Tokens) {
				in[k], tg[k] = s.Tokens[k], s.Tokens[k+1]
				if k+1 >= s.Start {
					m[k] = 1
					b.Count++
				}
			} else {
				in[k], tg[k] = p, p
			}
		}
	}
	return b
}
