// Package scorer loads a reward model of any family warm runs (GPT-2, and
// the Llama family: Llama, Mistral, Qwen2, Qwen3, Gemma2) together with what
// turns records into its token ids, and scores records with it. It is what
// `warm score`, `warm eval`, best-of-N, the reward side of RL and merge's
// check share.
//
// How a record becomes tokens depends on the family:
//
//   - input_ids are used as given (no tokenizer needed);
//   - GPT-2 checkpoints trained by warm read Encode(prompt) ++
//     Encode(response) ++ [EOS], the layout they were trained on
//     (data.Seq), cut from the left to the model's positions as warm's
//     training and evaluation cut it; a text is Encode(text) ++ [EOS];
//   - Llama-family checkpoints read tokenizer(text) with the tokenizer's
//     special tokens (Hugging Face's add_special_tokens=True: Llama-3's BOS,
//     none for Qwen2), for a prompt and response their concatenation.
//
// The reward is read where each family reads it (model.RewardModel).
package scorer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/warm-rm/warm/chat"
	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/model/llama"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

// Scorer is a loaded reward model and its tokenizer. It is safe for
// concurrent use (passes are serialised: the model's workspace is shared).
type Scorer struct {
	// Dir is the checkpoint directory.
	Dir string
	// Family is config.json's model_type ("gpt2", "llama", "qwen2", ...).
	Family string
	// Fingerprint identifies the weights: the checkpoint's warm.fingerprint
	// (content hash) when it has one, else its header identity (names,
	// dtypes, shapes and sizes; checkpoints of other tools).
	Fingerprint string
	// BaseFingerprint is the checkpoint's warm.base_fingerprint: the
	// pre-trained model it was fine-tuned from ("" for other tools').
	BaseFingerprint string
	// Model computes the rewards.
	Model model.RewardModel
	// Tok is the tokenizer (nil when the checkpoint has no tokenizer.json:
	// only input_ids records can then be scored).
	Tok *tokenizer.Tokenizer
	// Chat is the chat template from tokenizer_config.json (or
	// chat_template.jinja), nil when the checkpoint has none.
	Chat *chat.Template
	// ChatOptions are passed to every render (template variables such as
	// Qwen3's enable_thinking; the clock Llama-3.2's template prints).
	ChatOptions chat.RenderOptions

	mu sync.Mutex
}

// Load loads the reward-model checkpoint in dir, of any family.
func Load(dir string) (*Scorer, error) {
	typ, err := checkpoint.ModelType(dir)
	if err != nil {
		return nil, err
	}
	s := &Scorer{Dir: dir, Family: typ}
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	s.Fingerprint = set.Metadata[safetensors.MetaFingerprint]
	s.BaseFingerprint = set.Metadata[safetensors.MetaBaseFingerprint]
	if s.Fingerprint == "" {
		s.Fingerprint = set.HeaderIdentity()
	}
	set.Close()
	vocab := 0
	if typ == "gpt2" {
		ck, err := checkpoint.Load(dir)
		if err != nil {
			return nil, err
		}
		if !ck.Model.Config.RewardHead {
			return nil, fmt.Errorf("%s: not a reward model (no score.weight; config %s)", dir, checkpoint.ArchLM)
		}
		s.Model, s.Tok = ck.Model, ck.Tokenizer
		return s, nil
	}
	m, err := checkpoint.LoadLlama(dir)
	if err != nil {
		return nil, err
	}
	if m.Config.Head != llama.SequenceClassification {
		return nil, fmt.Errorf("%s: %s is not a reward model (want a *ForSequenceClassification checkpoint)", dir, m.Config.Architecture)
	}
	s.Model, vocab = m, m.Config.VocabSize
	if s.Tok, err = checkpoint.LoadTokenizer(dir, vocab); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		tc, err := chat.LoadDir(dir)
		if err != nil {
			return nil, err
		}
		if tc.ChatTemplate != "" || len(tc.ChatTemplates) > 0 {
			if s.Chat, err = tc.Template("", false); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// PackForInference packs the weights of a GPT-2 reward model once for the
// GEMM kernels (model.Model.PackForInference), so that every pass reads
// them packed instead of packing them again: the same rewards, bit for
// bit, at the cost of holding the model's matmul weights twice. It is for
// a scorer that only scores from now on, as warm score, warm eval and the
// server's do. Other families are left as they are (their weights, BF16
// or F16 included, are packed per pass).
func (s *Scorer) PackForInference() {
	if m, ok := s.Model.(*model.Model); ok {
		s.mu.Lock()
		m.PackForInference()
		s.mu.Unlock()
	}
}

// Rewards scores token sequences in batches of batch sequences.
func (s *Scorer) Rewards(ctx context.Context, seqs [][]int32, batch int) ([]float32, error) {
	if batch < 1 {
		return nil, fmt.Errorf("scoring: batch size %d", batch)
	}
	out := make([]float32, 0, len(seqs))
	for lo := 0; lo < len(seqs); lo += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+batch, len(seqs))
		s.mu.Lock()
		r, err := s.Model.Rewards(seqs[lo:hi])
		s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("scoring %s, records %d-%d: %w", s.Dir, lo+1, hi, err)
		}
		out = append(out, r...)
	}
	return out, nil
}

// errNoTokenizer explains a text record on a checkpoint without tokenizer.json.
var errNoTokenizer = errors.New("the checkpoint has no tokenizer.json: give input_ids")

// EncodeText returns the token ids of a whole text (see the package doc).
func (s *Scorer) EncodeText(text string) ([]int32, error) {
	if s.Tok == nil {
		return nil, errNoTokenizer
	}
	if s.Family == "gpt2" {
		return appendEOS(s.Tok, s.Tok.Encode(text))
	}
	return toInt32(s.Tok.EncodeWithSpecial(text))
}

// EncodePair returns the token ids of a prompt and its response.
func (s *Scorer) EncodePair(prompt, response string) ([]int32, error) {
	if s.Tok == nil {
		return nil, errNoTokenizer
	}
	if s.Family == "gpt2" {
		seq, _, err := data.EncodeSeq(s.Tok, prompt, response, s.Model.MaxLen())
		return seq.Tokens, err
	}
	return s.EncodeText(prompt + response)
}

func appendEOS(tok *tokenizer.Tokenizer, ids []int) ([]int32, error) {
	eos := tok.EOS()
	if eos < 0 {
		return nil, errors.New("the tokenizer has no end-of-text token to end the sequence with")
	}
	return toInt32(append(ids, eos))
}

func toInt32(ids []int) ([]int32, error) {
	out := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id > math.MaxInt32 {
			return nil, fmt.Errorf("token id %d out of range", id)
		}
		out[i] = int32(id)
	}
	return out, nil
}

// EncodeChat returns the token ids of a prompt and its response as one
// exchange, for samples passed as text from a policy of another family:
// the user's prompt and the assistant's response through the chat
// template when the checkpoint has one, else as EncodePair.
func (s *Scorer) EncodeChat(prompt, response string) ([]int32, error) {
	if s.Chat == nil {
		return s.EncodePair(prompt, response)
	}
	return s.EncodeMessages([]chat.Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: response}})
}

// EncodeMessages renders a conversation with the checkpoint's chat template
// (add_generation_prompt false) and tokenizes the text without adding
// special tokens, as apply_chat_template(tokenize=True) does: a BOS comes
// from the template.
func (s *Scorer) EncodeMessages(msgs []chat.Message) ([]int32, error) {
	if s.Tok == nil {
		return nil, errNoTokenizer
	}
	if s.Chat == nil {
		return nil, fmt.Errorf("%s has no chat template (tokenizer_config.json chat_template) to render messages with", s.Dir)
	}
	text, err := s.Chat.Render(msgs, s.ChatOptions)
	if err != nil {
		return nil, err
	}
	return toInt32(s.Tok.Encode(text))
}

// EncodeQuery returns the token ids of a text that already carries its
// special tokens (a chat-formatted prompt + response, as RL trainers send
// it): tokenized without adding any, as OpenRLHF's serve_rm.py does. For
// warm's GPT-2 reward models it is EncodeText (their layout ends in EOS).
func (s *Scorer) EncodeQuery(text string) ([]int32, error) {
	if s.Tok == nil {
		return nil, errNoTokenizer
	}
	if s.Family == "gpt2" {
		return s.EncodeText(text)
	}
	return toInt32(s.Tok.Encode(text))
}
