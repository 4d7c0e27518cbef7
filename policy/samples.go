package policy

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/tokenizer"
)

// Policy is a language model (SFT or RL checkpoint) with its tokenizer.
// Any family samples (best-of-N, win rates); RL trains GPT-2 policies only
// (fine-tuning the Llama family is its own issue).
type Policy struct {
	Name string
	// LM samples. Model is the same model when it is warm's GPT-2 engine
	// (what RL trains and reads log-probabilities from), nil otherwise.
	LM    model.LanguageModel
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	// EOS ends a response.
	EOS int
	// Meta is the checkpoint's metadata (zero for an in-memory policy).
	Meta checkpoint.Meta
	// withSpecial encodes prompts with the tokenizer's special tokens (a
	// BOS): Llama-family policies.
	withSpecial bool
	// gen keeps a GPT-2 policy's KV caches between generations (RL samples
	// from the same model every step).
	gen *sample.Generator
}

// NewPolicy wraps an in-memory GPT-2 policy.
func NewPolicy(name string, m *model.Model, tok *tokenizer.Tokenizer) *Policy {
	return &Policy{Name: name, LM: m, Model: m, Tok: tok, EOS: tok.EOS()}
}

// LoadPolicy loads a language-model checkpoint directory of any family.
func LoadPolicy(dir string) (*Policy, error) {
	typ, err := checkpoint.ModelType(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if typ == "gpt2" {
		ck, err := checkpoint.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		if ck.Tokenizer == nil {
			return nil, fmt.Errorf("policy: %s has no tokenizer.json", dir)
		}
		p := NewPolicy(dir, ck.Model, ck.Tokenizer)
		p.Meta = ck.Meta
		return p, nil
	}
	lm, err := checkpoint.LoadLM(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if lm.Tok == nil {
		return nil, fmt.Errorf("policy: %s has no tokenizer.json", dir)
	}
	if lm.EOS < 0 {
		return nil, fmt.Errorf("policy: %s names no end-of-sequence token (eos_token_id in config.json)", dir)
	}
	return &Policy{Name: dir, LM: lm.Model, Tok: lm.Tok, EOS: lm.EOS, withSpecial: true}, nil
}

// Prompts are tokenised prompts for a policy: each cut from the left to
// leave MaxTokens positions for the response, as sample.Generate would cut
// them (so the log-probabilities of RL see the same context as sampling).
type Prompts struct {
	Texts []string
	Toks  [][]int32
	// MaxTokens is the response budget the prompts were cut for.
	MaxTokens int
}

// EncodePrompts tokenises texts for p, leaving maxTokens positions.
func (p *Policy) EncodePrompts(texts []string, maxTokens int) (*Prompts, error) {
	room := p.LM.MaxLen() - maxTokens
	if room < 1 {
		return nil, fmt.Errorf("max tokens %d leaves no room for a prompt in %d positions", maxTokens, p.LM.MaxLen())
	}
	out := &Prompts{Texts: texts, Toks: make([][]int32, len(texts)), MaxTokens: maxTokens}
	for i, t := range texts {
		ids := p.Tok.Encode(t)
		if p.withSpecial {
			ids = p.Tok.EncodeWithSpecial(t)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("prompt %d is empty", i)
		}
		if len(ids) > room {
			ids = ids[len(ids)-room:]
		}
		toks := make([]int32, len(ids))
		for j, id := range ids {
			if id > math.MaxInt32 {
				return nil, fmt.Errorf("prompt %d: token id %d overflows int32", i, id)
			}
			toks[j] = int32(id)
		}
		out.Toks[i] = toks
	}
	return out, nil
}

// Subset returns the prompts at idx.
func (ps *Prompts) Subset(idx []int) *Prompts {
	out := &Prompts{MaxTokens: ps.MaxTokens, Texts: make([]string, len(idx)), Toks: make([][]int32, len(idx))}
	for k, i := range idx {
		out.Texts[k], out.Toks[k] = ps.Texts[i], ps.Toks[i]
	}
	return out
}

// Sample is one sampled response and what it is made of.
type Sample struct {
	Item
	// PromptIndex and SampleIndex locate the sample (sample j of prompt i).
	PromptIndex, SampleIndex int
	// Stopped reports that the response ended with EOS (else the token
	// budget ran out).
	Stopped bool
}

// Actions returns the tokens the policy chose: the response, plus EOS when
// it stopped.
func (s *Sample) Actions(eos int) []int32 {
	if !s.Stopped {
		return s.Response
	}
	return append(append(make([]int32, 0, len(s.Response)+1), s.Response...), int32(eos))
}

// Generate draws n samples for every prompt (prompt-major: sample j of prompt
// i is at i·n + j) with cfg. cfg.MaxTokens must be the prompts' budget. The
// same (cfg.Seed, prompt index, sample index) always gives the same sample.
func (p *Policy) Generate(ctx context.Context, ps *Prompts, n int, cfg sample.Config) ([]Sample, error) {
	if cfg.MaxTokens != ps.MaxTokens {
		return nil, fmt.Errorf("sampling: prompts were cut for %d response tokens, sampling asks %d", ps.MaxTokens, cfg.MaxTokens)
	}
	if n < 1 {
		return nil, errors.New("sampling: n < 1")
	}
	reqs := make([]sample.Request, len(ps.Toks))
	for i, t := range ps.Toks {
		reqs[i] = sample.Request{Prompt: t, N: n}
	}
	var outs []sample.Output
	var err error
	if p.Model != nil {
		if p.gen == nil {
			p.gen = sample.NewGenerator(p.Model)
		}
		outs, err = p.gen.Generate(ctx, reqs, p.EOS, cfg)
	} else {
		outs, err = sample.Generate(ctx, p.LM, reqs, p.EOS, cfg)
	}
	if err != nil {
		return nil, err
	}
	res := make([]Sample, len(outs))
	for k, o := range outs {
		resp := o.Tokens
		if o.Stopped {
			resp = resp[:len(resp)-1]
		}
		ids := make([]int, len(resp))
		for j, t := range resp {
			ids[j] = int(t)
		}
		text, err := DecodeResponse(p.Tok, ids)
		if err != nil {
			return nil, fmt.Errorf("sampling: prompt %d sample %d: %w", o.Prompt, o.Sample, err)
		}
		res[k] = Sample{
			Item:        Item{Prompt: ps.Toks[o.Prompt], Response: resp, PromptText: ps.Texts[o.Prompt], ResponseText: text},
			PromptIndex: o.Prompt, SampleIndex: o.Sample, Stopped: o.Stopped,
		}
	}
	return res, nil
}

// DecodeResponse decodes sampled ids to text as Hugging Face's decode does:
// ids past the tokenizer's vocabulary (rows of an embedding padded beyond
// it, as Qwen2's and Llama's are, which sampling can draw) decode to
// nothing.
func DecodeResponse(tok *tokenizer.Tokenizer, ids []int) (string, error) {
	known := ids[:0:0]
	for _, id := range ids {
		if id < tok.VocabSize() {
			known = append(known, id)
		}
	}
	return tok.DecodeUTF8(known)
}

// Items returns the batch of samples for scoring.
func (p *Policy) Items(ss []Sample) *Batch {
	b := &Batch{Tokenizer: p.Tok, Items: make([]Item, len(ss))}
	for i := range ss {
		b.Items[i] = ss[i].Item
	}
	return b
}

// lmBatch is a teacher-forced batch of (prompt, actions) sequences: inputs
// are the sequence minus its last token, targets the sequence shifted by
// one, and the weights pick the positions that predict an action.
type lmBatch struct {
	B, T            int
	tokens, targets []int32
	mask            []float32 // 1 at action positions
	first, n        []int     // first action position and action count per row
}

func makeLMBatch(ss []Sample, eos, pad int) (*lmBatch, error) {
	lb := &lmBatch{B: len(ss), first: make([]int, len(ss)), n: make([]int, len(ss))}
	for _, s := range ss {
		lb.T = max(lb.T, len(s.Prompt)+len(s.Response))
	}
	lb.T = max(lb.T, 1)
	lb.tokens = make([]int32, lb.B*lb.T)
	lb.targets = make([]int32, lb.B*lb.T)
	lb.mask = make([]float32, lb.B*lb.T)
	for b := range ss {
		s := &ss[b]
		acts := s.Actions(eos)
		if len(acts) == 0 {
			return nil, fmt.Errorf("sample %d.%d has no tokens", s.PromptIndex, s.SampleIndex)
		}
		seq := make([]int32, 0, len(s.Prompt)+len(acts))
		seq = append(append(seq, s.Prompt...), acts...)
		row := lb.tokens[b*lb.T : (b+1)*lb.T]
		trow := lb.targets[b*lb.T : (b+1)*lb.T]
		for i := range row {
			row[i] = int32(pad)
		}
		copy(row, seq[:len(seq)-1])
		copy(trow, seq[1:])
		lb.first[b], lb.n[b] = len(s.Prompt)-1, len(acts)
		for t := lb.first[b]; t < lb.first[b]+lb.n[b]; t++ {
			lb.mask[b*lb.T+t] = 1
		}
	}
	return lb, nil
}

// LogProbs returns log p(actions | prompt) of each sample under m, summed
// over its action tokens (response and EOS), computed without dropout in
// batches of batchSize.
func LogProbs(ctx context.Context, m *model.Model, ss []Sample, eos, batchSize int) ([]float64, error) {
	out := make([]float64, len(ss))
	for lo := 0; lo < len(ss); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batchSize, len(ss))
		lb, err := makeLMBatch(ss[lo:hi], eos, m.Config.PadID)
		if err != nil {
			return nil, err
		}
		if _, err := m.LMForward(lb.tokens, lb.B, lb.T, lb.targets, lb.mask, false, 0); err != nil {
			return nil, fmt.Errorf("log-probabilities: %w", err)
		}
		tl := m.TokenLosses()
		for b := 0; b < lb.B; b++ {
			var s float64
			for t := lb.first[b]; t < lb.first[b]+lb.n[b]; t++ {
				s -= float64(tl[b*lb.T+t])
			}
			out[lo+b] = s
		}
	}
	return out, nil
}

// tokenizersMatch reports whether two tokenizers are the same.
func tokenizersMatch(a, b *tokenizer.Tokenizer) bool {
	return a != nil && b != nil && a.Fingerprint() == b.Fingerprint()
}
