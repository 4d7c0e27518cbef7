package scorer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
)

// Fluency judges a response by a language model's likelihood instead of a
// learned reward: its score is the mean log-probability per token of the
// response given the prompt, in nats (0 is best). It is meant as a control
// that no reward model trained on preference labels can share a blind spot
// with: a language model pre-trained on its own text, separately from the
// reward models being compared, gives made-up words and broken syntax low
// probability whatever a preference label said about them.
//
// What it does not see: a small language model gives a word repeated in
// context a high probability once it has seen it a few times (copying is
// cheap to predict), so repetition loops can score well. Read it beside a
// model-free repetition measure (data.Repetition, data.StemRepetition).
//
// Tokens: Encode(prompt) ++ Encode(response) ++ [EOS] for warm's GPT-2
// checkpoints (with the end-of-text token before an empty prompt, where a
// pre-trained document starts), tokenizer(prompt) with its special tokens
// ++ Encode(response) ++ [EOS] for the Llama family; no chat template is
// applied. The response is judged with its end, as reward models read it:
// ending where it does is part of the text (an empty response is judged by
// p(EOS | prompt); one cut mid-sentence pays for the EOS there). A
// sequence longer than the model's context is cut from the left, prompt
// first, as reward models' sequences are; a response longer than the
// context is then judged on its last tokens only.
type Fluency struct {
	// Dir is the checkpoint directory.
	Dir string
	// LM is the language model and its tokenizer.
	LM *checkpoint.LM
	// BatchSize is the number of sequences decoded together.
	BatchSize int

	mu sync.Mutex
}

// LoadFluency loads the language-model checkpoint in dir (any family) as a
// fluency judge.
func LoadFluency(dir string) (*Fluency, error) {
	lm, err := checkpoint.LoadLM(dir)
	if err != nil {
		return nil, fmt.Errorf("fluency judge %s: %w", dir, err)
	}
	if lm.Tok == nil {
		return nil, fmt.Errorf("fluency judge %s: the checkpoint has no %s", dir, checkpoint.TokenizerFile)
	}
	return &Fluency{Dir: dir, LM: lm, BatchSize: 32}, nil
}

// encode returns a (prompt, response) pair's context and response tokens.
func (f *Fluency) encode(prompt, response string) (ctx, resp []int32, err error) {
	if ctx, err = f.LM.EncodePrompt(prompt); err != nil {
		return nil, nil, err
	}
	if len(ctx) == 0 {
		if f.LM.EOS < 0 {
			return nil, nil, errors.New("empty prompt and no end-of-text token to start from")
		}
		ctx = []int32{int32(f.LM.EOS)}
	}
	if resp, err = toInt32(f.LM.Tok.Encode(response)); err != nil {
		return nil, nil, err
	}
	if f.LM.EOS >= 0 {
		resp = append(resp, int32(f.LM.EOS))
	}
	if len(resp) == 0 {
		return nil, nil, errors.New("empty response and no end-of-text token: nothing to judge")
	}
	// Cut from the left to the model's positions; what is left of the
	// response after its first kept token is what is judged.
	full := append(ctx[:len(ctx):len(ctx)], resp...)
	if maxLen := f.LM.Model.MaxLen(); len(full) > maxLen {
		full = full[len(full)-maxLen:]
	}
	n := min(len(resp), len(full)-1)
	return full[:len(full)-n], full[len(full)-n:], nil
}

// Score returns the mean log-probability per response token of each
// (prompts[i], responses[i]). Every item is encoded and checked before any
// is scored.
func (f *Fluency) Score(ctx context.Context, prompts, responses []string) ([]float64, error) {
	if len(prompts) != len(responses) {
		return nil, fmt.Errorf("fluency judge %s: %d prompts for %d responses", f.Dir, len(prompts), len(responses))
	}
	return f.score(ctx, prompts, responses, func(i int) string { return fmt.Sprintf("item %d", i) })
}

// score is Score with each item's name in errors given by label: it
// encodes every item once, then scores them in batches.
func (f *Fluency) score(ctx context.Context, prompts, responses []string, label func(i int) string) ([]float64, error) {
	ctxs, resps := make([][]int32, len(prompts)), make([][]int32, len(prompts))
	for i := range prompts {
		c, r, err := f.encode(prompts[i], responses[i])
		if err != nil {
			return nil, fmt.Errorf("fluency judge %s: %s: %w", f.Dir, label(i), err)
		}
		ctxs[i], resps[i] = c, r
	}
	bs := max(f.BatchSize, 1)
	out := make([]float64, 0, len(prompts))
	for lo := 0; lo < len(prompts); lo += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+bs, len(prompts))
		s, err := f.batch(ctxs[lo:hi], resps[lo:hi])
		if err != nil {
			return nil, fmt.Errorf("fluency judge %s, items %d-%d: %w", f.Dir, lo+1, hi, err)
		}
		out = append(out, s...)
	}
	return out, nil
}

// batch scores one batch together when every row fits the model's context
// while the longest response is decoded (rows that have ended are still fed
// tokens), else each row alone.
func (f *Fluency) batch(ctxs, resps [][]int32) ([]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.LM.Model.(*model.Model); ok {
		return gpt2MeanLogProbs(m, ctxs, resps)
	}
	longCtx, steps := 0, 0
	for b := range ctxs {
		longCtx, steps = max(longCtx, len(ctxs[b])), max(steps, len(resps[b]))
	}
	if longCtx+steps <= f.LM.Model.MaxLen() {
		return f.meanLogProbs(ctxs, resps)
	}
	out := make([]float64, len(ctxs))
	for b := range ctxs {
		s, err := f.meanLogProbs(ctxs[b:b+1], resps[b:b+1])
		if err != nil {
			return nil, err
		}
		out[b] = s[0]
	}
	return out, nil
}

// meanLogProbs decodes one batch: the prompts prefilled, then the response
// tokens fed one step at a time (rows whose response has ended are fed
// their last token again and not counted), each token's log-probability
// read from the logits before it. Sums run in float64 in token order, so
// a row's score does not depend on the rows beside it up to the model's
// own batch invariance.
func (f *Fluency) meanLogProbs(ctxs, resps [][]int32) ([]float64, error) {
	B, longCtx, steps := len(ctxs), 0, 0
	for b := range ctxs {
		longCtx, steps = max(longCtx, len(ctxs[b])), max(steps, len(resps[b]))
	}
	maxLen := longCtx + steps
	dec, err := f.LM.Model.NewDecoder(B, maxLen)
	if err != nil {
		return nil, err
	}
	V := f.LM.Model.VocabSize()
	logits, err := dec.Prefill(ctxs)
	if err != nil {
		return nil, err
	}
	sums := make([]float64, B)
	next := make([]int32, B)
	for t := 0; t < steps; t++ {
		for b, r := range resps {
			if t < len(r) {
				sums[b] += logProb(logits[b*V:(b+1)*V], int(r[t]))
				next[b] = r[t]
			}
		}
		if t == steps-1 {
			break
		}
		if logits, err = dec.Step(next); err != nil {
			return nil, err
		}
	}
	for b, r := range resps {
		sums[b] /= float64(len(r))
	}
	return sums, nil
}

// gpt2MeanLogProbs is meanLogProbs for warm's GPT-2 in one pass
// (model.Model.ContinuationLogProbs), each sum divided by its tokens.
func gpt2MeanLogProbs(m *model.Model, ctxs, resps [][]int32) ([]float64, error) {
	out, err := m.ContinuationLogProbs(ctxs, resps)
	if err != nil {
		return nil, err
	}
	for b := range out {
		out[b] /= float64(len(resps[b]))
	}
	return out, nil
}

// logProb returns log softmax(logits)[id], in float64.
func logProb(logits []float32, id int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) - m)
	}
	return float64(logits[id]) - m - math.Log(z)
}

// ScorePairs returns the fluency of each pair's chosen and rejected
// responses (as float32, beside a reward model's ScorePairs).
func (f *Fluency) ScorePairs(ctx context.Context, pairs []data.Pair) (chosen, rejected []float32, err error) {
	prompts := make([]string, 0, 2*len(pairs))
	resps := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		prompts = append(prompts, p.Prompt, p.Prompt)
		resps = append(resps, p.Chosen, p.Rejected)
	}
	s, err := f.score(ctx, prompts, resps, func(i int) string {
		return fmt.Sprintf("pair %d, %s", pairs[i/2].ID, [2]string{"chosen", "rejected"}[i%2])
	})
	if err != nil {
		return nil, nil, err
	}
	chosen, rejected = make([]float32, len(pairs)), make([]float32, len(pairs))
	for i := range pairs {
		chosen[i], rejected[i] = float32(s[2*i]), float32(s[2*i+1])
	}
	return chosen, rejected, nil
}

// ScoreRecords returns the fluency of each record, in order: a
// {"prompt", "response"} record is judged as a response to its prompt, a
// {"text"} record as a response to an empty prompt (from the end-of-text
// token, where a pre-trained document starts). Conversations and token ids
// are refused: the judge reads text and applies no chat template. Every
// record is checked before any is scored, and an error names its source.
func (f *Fluency) ScoreRecords(ctx context.Context, records []Record) ([]float64, error) {
	prompts := make([]string, len(records))
	resps := make([]string, len(records))
	for i, r := range records {
		switch {
		case r.Prompt != nil && r.Response != nil:
			prompts[i], resps[i] = *r.Prompt, *r.Response
		case r.Text != nil:
			resps[i] = *r.Text
		case r.Messages != nil:
			return nil, fmt.Errorf("fluency judge %s: %s: a conversation; the judge reads a prompt and a response as text (no chat template): give {\"prompt\": ..., \"response\": ...}", f.Dir, r.Source)
		default:
			return nil, fmt.Errorf("fluency judge %s: %s: token ids; the judge reads text: give {\"prompt\": ..., \"response\": ...} or {\"text\": ...}", f.Dir, r.Source)
		}
	}
	return f.score(ctx, prompts, resps, func(i int) string { return records[i].Source })
}
