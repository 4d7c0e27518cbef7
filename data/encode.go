package data

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Encoder is the part of a tokenizer this package needs. Encode must be
// deterministic; ids must be non-negative and fit in an int32.
type Encoder interface {
	// Encode returns the token ids of text (no special tokens added).
	Encode(text string) []int
	// EOS returns the end-of-text token id, appended after every response
	// and between packed documents.
	EOS() int
	// Pad returns the padding token id used to right-pad batches.
	Pad() int
}

// Seq is one tokenised prompt + response sequence.
//
// Layout: Encode(prompt) ++ Encode(response) ++ [EOS]. Prompt and response
// are encoded separately, so the boundary between them is exact and the
// same for the chosen and rejected sequence of a pair, for an SFT
// demonstration and for a policy sample (which is generated token by token
// after Encode(prompt)). For a GPT-2 style tokenizer whose pre-tokenizer
// attaches a word's leading space to the word this equals
// Encode(prompt+response) whenever the response starts at a word boundary
// with its separator (" mat", "\n..."), which is how every loader here splits
// texts.
type Seq struct {
	// Tokens is the sequence, ending with EOS.
	Tokens []int32
	// Start is the index of the first response token (0 when the prompt was
	// empty or truncated away). Tokens[Start:] is the response plus EOS.
	Start int
}

// TruncStats counts sequences cut to the maximum length.
type TruncStats struct {
	// Sequences is the number of sequences built.
	Sequences int
	// PromptTruncated counts sequences that lost tokens from the left of the
	// prompt (the response and EOS were kept whole).
	PromptTruncated int
	// ResponseTruncated counts sequences that lost their whole prompt and
	// the beginning of the response.
	ResponseTruncated int
}

// Truncated returns the number of sequences that were cut at all.
func (t TruncStats) Truncated() int { return t.PromptTruncated + t.ResponseTruncated }

// add merges counts from o.
func (t *TruncStats) add(o TruncStats) {
	t.Sequences += o.Sequences
	t.PromptTruncated += o.PromptTruncated
	t.ResponseTruncated += o.ResponseTruncated
}

// toInt32 converts encoder output, checking the id range.
func toInt32(ids []int, what string) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("%s: encoder returned token id %d out of range", what, id)
		}
		out[i] = int32(id)
	}
	return out, nil
}

// buildSeq joins prompt, response and EOS, truncating to maxLen by dropping
// tokens from the left: first from the prompt, then (only if the response
// and EOS alone exceed maxLen) from the start of the response. The end of the
// response and the EOS are always kept, because a reward model reads the
// last token.
func buildSeq(prompt, resp []int32, eos int32, maxLen int, st *TruncStats) Seq {
	st.Sequences++
	total := len(prompt) + len(resp) + 1
	if total > maxLen {
		drop := total - maxLen
		if drop <= len(prompt) {
			prompt = prompt[drop:]
			st.PromptTruncated++
		} else {
			resp = resp[drop-len(prompt):]
			prompt = nil
			st.ResponseTruncated++
		}
	}
	toks := make([]int32, 0, len(prompt)+len(resp)+1)
	toks = append(toks, prompt...)
	toks = append(toks, resp...)
	toks = append(toks, eos)
	return Seq{Tokens: toks, Start: len(prompt)}
}

// checkEncoder validates maxLen and the special ids.
func checkEncoder(enc Encoder, maxLen int) (eos int32, err error) {
	if enc == nil {
		return 0, errors.New("nil encoder")
	}
	if maxLen < 2 {
		return 0, fmt.Errorf("maximum sequence length %d is below 2", maxLen)
	}
	e, p := enc.EOS(), enc.Pad()
	if e < 0 || e > math.MaxInt32 || p < 0 || p > math.MaxInt32 {
		return 0, fmt.Errorf("encoder special ids out of range: eos %d, pad %d", e, p)
	}
	return int32(e), nil
}

// EncodeSeq tokenises one prompt + response (layout and truncation as in
// [Seq] and [TokenizePairs]). The returned stats count this one sequence.
func EncodeSeq(enc Encoder, prompt, response string, maxLen int) (Seq, TruncStats, error) {
	var st TruncStats
	eos, err := checkEncoder(enc, maxLen)
	if err != nil {
		return Seq{}, st, err
	}
	p, err := toInt32(enc.Encode(prompt), "prompt")
	if err != nil {
		return Seq{}, st, err
	}
	r, err := toInt32(enc.Encode(response), "response")
	if err != nil {
		return Seq{}, st, err
	}
	return buildSeq(p, r, eos, maxLen, &st), st, nil
}

// TokPair is a tokenised preference pair.
type TokPair struct {
	// ID is the pair's ID.
	ID int
	// Chosen is the sequence of the preferred (as labelled) response.
	Chosen Seq
	// Rejected is the sequence of the other response.
	Rejected Seq
	// Flipped is the pair's corruption flag.
	Flipped bool
}

// TokenizePairs tokenises pairs for reward-model training and scoring: each
// response becomes a [Seq] (Encode(prompt) ++ Encode(response) ++ [EOS]) of
// at most maxLen tokens. Longer sequences are cut from the left, prompt
// first, so the end of the response and the EOS are always kept; the stats
// count how many were cut. The prompt is encoded once per pair (and reused
// for consecutive pairs with the same prompt).
func TokenizePairs(ctx context.Context, enc Encoder, pairs []Pair, maxLen int) ([]TokPair, TruncStats, error) {
	var st TruncStats
	eos, err := checkEncoder(enc, maxLen)
	if err != nil {
		return nil, st, err
	}
	out := make([]TokPair, len(pairs))
	var (
		lastPrompt string
		ptoks      []int32
		havePrompt bool
	)
	for i, p := range pairs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, st, err
			}
		}
		if !havePrompt || p.Prompt != lastPrompt {
			if ptoks, err = toInt32(enc.Encode(p.Prompt), p.Source+": prompt"); err != nil {
				return nil, st, err
			}
			lastPrompt, havePrompt = p.Prompt, true
		}
		c, err := toInt32(enc.Encode(p.Chosen), p.Source+": chosen")
		if err != nil {
			return nil, st, err
		}
		r, err := toInt32(enc.Encode(p.Rejected), p.Source+": rejected")
		if err != nil {
			return nil, st, err
		}
		out[i] = TokPair{
			ID:       p.ID,
			Chosen:   buildSeq(ptoks, c, eos, maxLen, &st),
			Rejected: buildSeq(ptoks, r, eos, maxLen, &st),
			Flipped:  p.Flipped,
		}
	}
	return out, st, nil
}

// TokenizeSFT tokenises SFT demonstrations: Encode(prompt) ++
// Encode(response) ++ [EOS], truncated like [TokenizePairs]. The result is
// parallel to examples. See [MakeSFTBatch] for the loss mask.
func TokenizeSFT(ctx context.Context, enc Encoder, examples []Example, maxLen int) ([]Seq, TruncStats, error) {
	var st TruncStats
	eos, err := checkEncoder(enc, maxLen)
	if err != nil {
		return nil, st, err
	}
	out := make([]Seq, len(examples))
	for i, ex := range examples {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, st, err
			}
		}
		p, err := toInt32(enc.Encode(ex.Prompt), ex.Source+": prompt")
		if err != nil {
			return nil, st, err
		}
		r, err := toInt32(enc.Encode(ex.Response), ex.Source+": response")
		if err != nil {
			return nil, st, err
		}
		out[i] = buildSeq(p, r, eos, maxLen, &st)
	}
	return out, st, nil
}

// PackTokens tokenises documents for language-model pre-training and packs
// them into one stream: Encode(doc0) ++ [EOS] ++ Encode(doc1) ++ [EOS] ...
// Nothing is padded or truncated; [MakeLMBatch] cuts the stream into
// fixed-length windows.
func PackTokens(ctx context.Context, enc Encoder, docs []string) ([]int32, error) {
	eos, err := checkEncoder(enc, 2)
	if err != nil {
		return nil, err
	}
	var out []int32
	for i, d := range docs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		t, err := toInt32(enc.Encode(d), fmt.Sprintf("document %d", i))
		if err != nil {
			return nil, err
		}
		out = append(out, t...)
		out = append(out, eos)
	}
	return out, nil
}
