// Package checkpoint saves and loads warm models as Hugging Face GPT-2
// directories: config.json (GPT2LMHeadModel or
// GPT2ForSequenceClassification), model.safetensors (or a sharded set) and
// tokenizer.json, with warm's metadata (role, fingerprints, step,
// hyper-parameters) in the safetensors "__metadata__".
//
// Directories are written atomically (internal/atomicdir): a crash leaves
// the previous checkpoint or none, never a mixture. Loading validates every
// header (package safetensors), checks each tensor's name and shape against
// the configuration, and accepts the layouts other tools write: names with
// or without the "transformer." prefix, an explicit lm_head.weight equal to
// the tied embedding, GPT-2's attention-mask buffers, F16/BF16 weights.
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

// Roles of a checkpoint (Meta.Role).
const (
	RoleBase = "base" // pre-trained language model: the shared base of a sweep
	RoleSFT  = "sft"  // supervised fine-tune of the base
	RoleRM   = "rm"   // reward model
	RoleWARM = "warm" // weight average of reward models
)

// File names inside a checkpoint directory.
const (
	ConfigFile    = "config.json"
	TokenizerFile = "tokenizer.json"
	// TokenizerConfigFile and SpecialTokensFile tell Hugging Face's
	// AutoTokenizer which tokens are EOS and padding.
	TokenizerConfigFile = "tokenizer_config.json"
	SpecialTokensFile   = "special_tokens_map.json"
)

// Meta is warm's metadata of a checkpoint.
type Meta struct {
	Role string
	// Fingerprint is the content fingerprint of the weights
	// (safetensors.Fingerprinter); Save computes it.
	Fingerprint string
	// BaseFingerprint identifies the shared pre-trained base. Save sets it
	// to Fingerprint for a base checkpoint when it is empty.
	BaseFingerprint string
	Step            int
	// HParams are the hyper-parameters that produced the checkpoint, as a
	// JSON object (nil when unknown).
	HParams json.RawMessage
	// Extra holds the other metadata keys (merge records and so on), kept
	// as read and written back.
	Extra map[string]string
}

// Checkpoint is a model with its tokenizer and metadata.
type Checkpoint struct {
	// Dir is where the checkpoint was loaded from ("" for a new one).
	Dir       string
	Model     *model.Model
	Tokenizer *tokenizer.Tokenizer
	Meta      Meta
}

func (m Meta) toMap() map[string]string {
	out := map[string]string{safetensors.MetaFormat: "pt"}
	for k, v := range m.Extra {
		out[k] = v
	}
	if m.Role != "" {
		out[safetensors.MetaRole] = m.Role
	}
	if m.Fingerprint != "" {
		out[safetensors.MetaFingerprint] = m.Fingerprint
	}
	if m.BaseFingerprint != "" {
		out[safetensors.MetaBaseFingerprint] = m.BaseFingerprint
	}
	out[safetensors.MetaStep] = strconv.Itoa(m.Step)
	if len(m.HParams) > 0 {
		out[safetensors.MetaHParams] = string(m.HParams)
	}
	return out
}

func metaFromMap(md map[string]string, name string) (Meta, error) {
	m := Meta{Extra: map[string]string{}}
	for k, v := range md {
		switch k {
		case safetensors.MetaFormat:
		case safetensors.MetaRole:
			m.Role = v
		case safetensors.MetaFingerprint:
			m.Fingerprint = v
		case safetensors.MetaBaseFingerprint:
			m.BaseFingerprint = v
		case safetensors.MetaStep:
			s, err := strconv.Atoi(v)
			if err != nil {
				return m, fmt.Errorf("%s: metadata %s=%q is not an integer", name, k, v)
			}
			m.Step = s
		case safetensors.MetaHParams:
			if !json.Valid([]byte(v)) {
				return m, fmt.Errorf("%s: metadata %s is not valid JSON", name, k)
			}
			m.HParams = json.RawMessage(v)
		default:
			m.Extra[k] = v
		}
	}
	return m, nil
}

// Tensors returns the model's parameters as F32 safetensors tensors in
// Hugging Face names, and their content fingerprint.
func Tensors(m *model.Model) ([]safetensors.Tensor, string, error) {
	ps := m.Params()
	ts := make([]safetensors.Tensor, len(ps))
	for i, p := range ps {
		t, err := safetensors.F32Tensor(p.Name, p.Shape, p.Data)
		if err != nil {
			return nil, "", err
		}
		ts[i] = t
	}
	fp, err := safetensors.FingerprintTensors(ts)
	if err != nil {
		return nil, "", err
	}
	return ts, fp, nil
}

// Save writes ck as the checkpoint directory dir, atomically. With replace,
// an existing dir is swapped out; otherwise an existing dir is an error.
// Save fills in ck.Meta.Fingerprint (and BaseFingerprint for a base).
func Save(dir string, ck *Checkpoint, replace bool) error {
	err := atomicdir.Write(dir, replace, func(tmp string) error { return WriteFiles(tmp, ck) })
	if err != nil {
		return fmt.Errorf("saving checkpoint %s: %w", dir, err)
	}
	ck.Dir = dir
	return nil
}

// WriteFiles writes the files of ck (config, weights, tokenizer) into the
// existing directory dir, without the atomic publication of Save: for
// callers that publish a larger directory themselves (training state).
// It fills in ck.Meta.Fingerprint (and BaseFingerprint for a base).
func WriteFiles(dir string, ck *Checkpoint) error {
	if ck.Model == nil {
		return errors.New("no model")
	}
	if ck.Tokenizer == nil {
		return errors.New("no tokenizer")
	}
	cfg := ck.Model.Config
	if ck.Tokenizer.VocabSize() > cfg.VocabSize {
		return fmt.Errorf("tokenizer has %d tokens, model only %d", ck.Tokenizer.VocabSize(), cfg.VocabSize)
	}
	ts, fp, err := Tensors(ck.Model)
	if err != nil {
		return err
	}
	ck.Meta.Fingerprint = fp
	if ck.Meta.Role == RoleBase && ck.Meta.BaseFingerprint == "" {
		ck.Meta.BaseFingerprint = fp
	}
	conf, err := encodeConfig(cfg, ck.Tokenizer.EOS())
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), conf, 0o644); err != nil {
		return err
	}
	if err := ck.Tokenizer.Save(filepath.Join(dir, TokenizerFile)); err != nil {
		return err
	}
	if err := writeTokenizerConfig(dir, ck.Tokenizer, cfg.NPositions); err != nil {
		return err
	}
	return safetensors.WriteFile(filepath.Join(dir, safetensors.SingleFileName), ts, ck.Meta.toMap())
}

// Load reads the checkpoint at path: a directory holding config.json and
// model.safetensors (or a sharded set), normally with tokenizer.json. The
// tokenizer is optional (Checkpoint.Tokenizer is then nil); the config is
// not.
func Load(path string) (*Checkpoint, error) {
	set, err := safetensors.OpenSet(path)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	defer set.Close()
	if set.Dir == "" {
		return nil, fmt.Errorf("loading checkpoint %s: a bare safetensors file has no %s; give its directory", path, ConfigFile)
	}
	confPath := filepath.Join(set.Dir, ConfigFile)
	conf, err := os.ReadFile(confPath)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", path, err)
	}
	cfg, err := decodeConfig(conf, confPath)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	// A reward head is present when the weights say so, whatever the
	// architecture line claims (a base can be loaded as an RM init).
	_, hasScore := set.Lookup("score.weight")
	if cfg.RewardHead && !hasScore {
		return nil, fmt.Errorf("loading checkpoint %s: config says %s but there is no score.weight tensor", path, ArchReward)
	}
	cfg.RewardHead = hasScore
	m, err := model.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", path, err)
	}
	if err := loadWeights(set, m); err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", path, err)
	}
	meta, err := metaFromMap(set.Metadata, path)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Dir: set.Dir, Model: m, Meta: meta}
	tokPath := filepath.Join(set.Dir, TokenizerFile)
	if _, err := os.Stat(tokPath); err == nil {
		tok, err := tokenizer.Load(tokPath)
		if err != nil {
			return nil, fmt.Errorf("loading checkpoint %s: %w", path, err)
		}
		if tok.VocabSize() > cfg.VocabSize {
			return nil, fmt.Errorf("loading checkpoint %s: tokenizer has %d tokens but vocab_size is %d", path, tok.VocabSize(), cfg.VocabSize)
		}
		ck.Tokenizer = tok
	}
	return ck, nil
}

// writeTokenizerConfig writes tokenizer_config.json and
// special_tokens_map.json, which Hugging Face's AutoTokenizer reads to learn
// the end-of-text and padding tokens.
func writeTokenizerConfig(dir string, tok *tokenizer.Tokenizer, maxLen int) error {
	special := map[string]string{}
	if id := tok.EOS(); id >= 0 {
		s, _ := tok.IDToToken(id)
		special["bos_token"], special["eos_token"], special["unk_token"] = s, s, s
	}
	if id := tok.Pad(); id >= 0 {
		s, _ := tok.IDToToken(id)
		special["pad_token"] = s
	}
	conf := map[string]any{
		"tokenizer_class":              "GPT2TokenizerFast",
		"model_max_length":             maxLen,
		"add_prefix_space":             false,
		"clean_up_tokenization_spaces": false,
	}
	for k, v := range special {
		conf[k] = v
	}
	for name, v := range map[string]any{TokenizerConfigFile: conf, SpecialTokensFile: special} {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ignoredBuffer reports tensors that some GPT-2 checkpoints carry but that
// are not parameters (the causal-mask buffers of old transformers versions).
func ignoredBuffer(name string) bool {
	return strings.HasSuffix(name, ".attn.bias") || strings.HasSuffix(name, ".attn.masked_bias")
}

// loadWeights copies every parameter of m from set, accepting names with or
// without the "transformer." prefix, and refusing missing, unexpected or
// misshapen tensors.
func loadWeights(set *safetensors.Set, m *model.Model) error {
	used := map[string]bool{}
	for _, p := range m.Params() {
		name := p.Name
		t, ok := set.Lookup(name)
		if !ok {
			alt := strings.TrimPrefix(name, "transformer.")
			if t, ok = set.Lookup(alt); ok {
				name = alt
			}
		}
		if !ok {
			return fmt.Errorf("tensor %s is missing", p.Name)
		}
		if !t.DType.IsFloat() {
			return fmt.Errorf("tensor %s has dtype %s, want a float type", name, t.DType)
		}
		if !sameShape(t.Shape, p.Shape) {
			return fmt.Errorf("tensor %s has shape %v, want %v", name, t.Shape, p.Shape)
		}
		if _, err := set.ReadFloat32(name, p.Data); err != nil {
			return err
		}
		used[name] = true
	}
	for _, t := range set.Tensors() {
		switch {
		case used[t.Name] || ignoredBuffer(t.Name):
		case t.Name == "lm_head.weight":
			// Tied to the token embedding: accept it only if it is equal.
			lm, err := set.ReadFloat32(t.Name, nil)
			if err != nil {
				return err
			}
			wte, _ := m.Param("transformer.wte.weight")
			if len(lm) != len(wte.Data) {
				return fmt.Errorf("tensor lm_head.weight has shape %v, want the embedding's %v", t.Shape, wte.Shape)
			}
			for i := range lm {
				if lm[i] != wte.Data[i] {
					return fmt.Errorf("tensor lm_head.weight differs from transformer.wte.weight: untied LM heads are not supported")
				}
			}
		default:
			return fmt.Errorf("unexpected tensor %s (not part of a GPT-2 model of this config)", t.Name)
		}
	}
	for _, p := range m.Params() {
		for i, v := range p.Data {
			if v != v || v-v != 0 {
				return fmt.Errorf("tensor %s: non-finite value at element %d", p.Name, i)
			}
		}
	}
	return nil
}

func sameShape(a []int64, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != int64(b[i]) {
			return false
		}
	}
	return true
}

// Fingerprint recomputes the content fingerprint of the checkpoint at path
// from its weights (it reads every byte).
func Fingerprint(ctx context.Context, path string) (string, error) {
	set, err := safetensors.OpenSet(path)
	if err != nil {
		return "", err
	}
	defer set.Close()
	return set.Fingerprint(ctx, 0)
}
