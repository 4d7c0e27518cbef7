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

// promptsAndActions returns each sample's prompt and actions (response,
// and EOS when it stopped), as model.Continuations reads them.
func promptsAndActions(ss []Sample, eos int) (prompts, acts [][]int32, err error) {
	prompts, acts = make([][]int32, len(ss)), make([][]int32, len(ss))
	for b := range ss {
		prompts[b], acts[b] = ss[b].Prompt, ss[b].Actions(eos)
		if len(acts[b]) == 0 {
			return nil, nil, fmt.Errorf("sample %d.%d has no tokens", ss[b].PromptIndex, ss[b].SampleIndex)
		}
	}
	return prompts, acts, nil
}

// LogProbs returns log p(actions | prompt) of each sample under m, summed
// over its action tokens (response and EOS), computed without dropout in
// batches of batchSize.
func LogProbs(ctx context.Context, m *model.Model, ss []Sample, eos, batchSize int) ([]float64, error) {
	out := make([]float64, 0, len(ss))
	for lo := 0; lo < len(ss); lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prompts, acts, err := promptsAndActions(ss[lo:min(lo+batchSize, len(ss))], eos)
		if err != nil {
			return nil, err
		}
		lp, err := m.ContinuationLogProbs(prompts, acts)
		if err != nil {
			return nil, fmt.Errorf("log-probabilities: %w", err)
		}
		out = append(out, lp...)
	}
	return out, nil
}

// tokenizersMatch reports whether two tokenizers are the same.
func tokenizersMatch(a, b *tokenizer.Tokenizer) bool {
	return a != nil && b != nil && a.Fingerprint() == b.Fingerprint()
}
