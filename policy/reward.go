package policy

import (
	"context"
	"fmt"
	"sync"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/scorer"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/tokenizer"
)

// Item is one (prompt, response) to score: the token ids the policy saw and
// produced, and the same as text.
type Item struct {
	// Prompt is the prompt's token ids (as given to the policy, after any
	// left truncation).
	Prompt []int32
	// Response is the sampled response's token ids, without the EOS.
	Response []int32
	// PromptText and ResponseText are the decoded texts.
	PromptText, ResponseText string
}

// Batch is a set of items whose token ids come from Tokenizer.
type Batch struct {
	Tokenizer *tokenizer.Tokenizer
	Items     []Item
}

// Reward scores (prompt, response) items: a reward model, an ensemble, a
// weight average, or a closed-form control reward. Scores of different
// rewards live on different scales.
type Reward interface {
	// Name identifies the reward in results ("best", "ens6", "warm6", "gold").
	Name() string
	// Score returns one reward per item.
	Score(ctx context.Context, b *Batch) ([]float64, error)
}

// RM is a reward model: a GPT2ForSequenceClassification checkpoint applied to
// Encode(prompt) ++ Encode(response) ++ [EOS] at the last token, exactly the
// layout it was trained on (data.Seq). Items from a policy with the same
// tokenizer are scored from their token ids; otherwise the texts are
// re-encoded with the RM's tokenizer. Sequences longer than the context are
// cut from the left (prompt first), as data.TokenizePairs does.
type RM struct {
	name  string
	Model *model.Model
	Tok   *tokenizer.Tokenizer
	// BatchSize is the number of sequences per forward pass.
	BatchSize int
	// Members names the sweep members a weight average was made of.
	Members []string
	// Pack packs the model's weights for inference at the first Score
	// (model.Model.PackForInference: bit-identical, faster), for a model
	// that is only scored from then on. LoadRM and WARM averages set it;
	// NewRM leaves it false, since the caller may go on training the model
	// it passed.
	Pack bool
	mu   sync.Mutex
}

// NewRM wraps a loaded reward model.
func NewRM(name string, m *model.Model, tok *tokenizer.Tokenizer) (*RM, error) {
	if !m.Config.RewardHead {
		return nil, fmt.Errorf("reward %s: the model has no reward head (score.weight)", name)
	}
	if tok == nil {
		return nil, fmt.Errorf("reward %s: no tokenizer", name)
	}
	return &RM{name: name, Model: m, Tok: tok, BatchSize: 64}, nil
}

// LoadRM loads a reward-model checkpoint directory.
func LoadRM(name, dir string) (*RM, error) {
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", name, err)
	}
	if ck.Tokenizer == nil {
		return nil, fmt.Errorf("reward %s: %s has no tokenizer.json", name, dir)
	}
	rm, err := NewRM(name, ck.Model, ck.Tokenizer)
	if err != nil {
		return nil, err
	}
	rm.Pack = true
	return rm, nil
}

// Name implements Reward.
func (r *RM) Name() string { return r.name }

// Score implements Reward.
func (r *RM) Score(ctx context.Context, b *Batch) ([]float64, error) {
	// The model's workspace is not safe for concurrent passes.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Pack && !r.Model.Packed() {
		r.Model.PackForInference()
	}
	seqs, err := r.seqs(b)
	if err != nil {
		return nil, err
	}
	s, err := eval.ScoreSeqs(ctx, r.Model, seqs, max(r.BatchSize, 1))
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", r.name, err)
	}
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out, nil
}

func (r *RM) seqs(b *Batch) ([]data.Seq, error) {
	maxLen := r.Model.Config.NPositions
	same := tokenizersMatch(b.Tokenizer, r.Tok)
	eos := int32(r.Tok.EOS())
	seqs := make([]data.Seq, len(b.Items))
	for i, it := range b.Items {
		if !same {
			s, _, err := data.EncodeSeq(r.Tok, it.PromptText, it.ResponseText, maxLen)
			if err != nil {
				return nil, fmt.Errorf("reward %s: item %d: %w", r.name, i, err)
			}
			seqs[i] = s
			continue
		}
		seqs[i] = itemSeq(it, eos, maxLen)
	}
	return seqs, nil
}

// itemSeq lays an item's token ids out as warm's reward models read them:
// prompt ++ response ++ [EOS], cut from the left to maxLen.
func itemSeq(it Item, eos int32, maxLen int) data.Seq {
	toks := make([]int32, 0, len(it.Prompt)+len(it.Response)+1)
	toks = append(append(append(toks, it.Prompt...), it.Response...), eos)
	start := len(it.Prompt)
	if cut := len(toks) - maxLen; cut > 0 {
		toks = toks[cut:]
		start = max(start-cut, 0)
	}
	return data.Seq{Tokens: toks, Start: start}
}

// TextRM is a reward model of another family than warm's GPT-2 (Llama,
// Mistral, Qwen2, Qwen3, Gemma2): samples reach it as text, whatever the
// policy's tokenizer is. Each (prompt, response) is decoded by the policy,
// then encoded as the reward model reads it (scorer.Scorer.EncodeChat:
// its chat template when it has one, else tokenizer(prompt + response)).
type TextRM struct {
	name string
	S    *scorer.Scorer
	// BatchSize is the number of sequences per forward pass.
	BatchSize int
}

// LoadTextRM loads a reward-model checkpoint of any family.
func LoadTextRM(name, dir string) (*TextRM, error) {
	s, err := scorer.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", name, err)
	}
	if s.Tok == nil {
		return nil, fmt.Errorf("reward %s: %s has no tokenizer.json", name, dir)
	}
	return &TextRM{name: name, S: s, BatchSize: 16}, nil
}

// Name implements Reward.
func (r *TextRM) Name() string { return r.name }

// Score implements Reward.
func (r *TextRM) Score(ctx context.Context, b *Batch) ([]float64, error) {
	seqs := make([][]int32, len(b.Items))
	for i, it := range b.Items {
		ids, err := r.S.EncodeChat(it.PromptText, it.ResponseText)
		if err != nil {
			return nil, fmt.Errorf("reward %s: item %d: %w", r.name, i, err)
		}
		seqs[i] = ids
	}
	s, err := r.S.Rewards(ctx, seqs, max(r.BatchSize, 1))
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", r.name, err)
	}
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out, nil
}

// Fluency is a control that is not a reward model: a language model's mean
// log-probability per token of each response given its prompt
// (scorer.Fluency), the texts re-encoded with the language model's own
// tokenizer. Spec fluency:PATH.
type Fluency struct {
	name string
	F    *scorer.Fluency
}

// LoadFluency loads the language-model checkpoint in dir as a fluency
// judge named name.
func LoadFluency(name, dir string) (*Fluency, error) {
	f, err := scorer.LoadFluency(dir)
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", name, err)
	}
	return &Fluency{name: name, F: f}, nil
}

// Name implements Reward.
func (r *Fluency) Name() string { return r.name }

// Score implements Reward.
func (r *Fluency) Score(ctx context.Context, b *Batch) ([]float64, error) {
	prompts, resps := make([]string, len(b.Items)), make([]string, len(b.Items))
	for i, it := range b.Items {
		prompts[i], resps[i] = it.PromptText, it.ResponseText
	}
	s, err := r.F.Score(ctx, prompts, resps)
	if err != nil {
		return nil, fmt.Errorf("reward %s: %w", r.name, err)
	}
	return s, nil
}

// Ensemble is ENS: the mean of its members' rewards (the prediction
// ensemble of the paper).
type Ensemble struct {
	name    string
	Members []Reward
}

// NewEnsemble returns the mean of members.
func NewEnsemble(name string, members []Reward) (*Ensemble, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("reward %s: an ensemble needs members", name)
	}
	return &Ensemble{name: name, Members: members}, nil
}

// Name implements Reward.
func (e *Ensemble) Name() string { return e.name }

// Score implements Reward.
func (e *Ensemble) Score(ctx context.Context, b *Batch) ([]float64, error) {
	parts := make([][]float64, len(e.Members))
	for k, m := range e.Members {
		s, err := m.Score(ctx, b)
		if err != nil {
			return nil, err
		}
		parts[k] = s
	}
	return sweep.Mean(parts), nil
}

// Gold is the synthetic task's closed-form gold reward (synth.Gold) on the
// decoded texts: the control reward of best-of-N and RL on that task.
type Gold struct{}

// Name implements Reward.
func (Gold) Name() string { return "gold" }

// Score implements Reward.
func (Gold) Score(ctx context.Context, b *Batch) ([]float64, error) {
	out := make([]float64, len(b.Items))
	posts := map[string]synth.Post{}
	for i, it := range b.Items {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		p, ok := posts[it.PromptText]
		if !ok {
			p = synth.ParsePost(it.PromptText)
			posts[it.PromptText] = p
		}
		out[i] = p.Score(it.ResponseText).Reward
	}
	return out, nil
}
