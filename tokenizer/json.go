package tokenizer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// CanonicalJSON returns the tokenizer as a Hugging Face tokenizer.json, in a
// canonical form: fixed key order, vocab ordered by id, merges in rank order,
// added tokens by id, two-space indentation. The same tokenizer always gives
// the same bytes. For a byte-level BPE every id is written into model.vocab
// (added tokens too, as GPT-2's file does); a SentencePiece-style one writes
// only its model's vocabulary there, since its BPE must not know the added
// tokens past it. Merges are written as "a b" strings, which every tokenizers
// version reads (byte-level and "▁" tokens never contain U+0020); if some
// merge part does contain a space, all merges are written as ["a", "b"] pairs.
// The returned slice must not be modified.
func (t *Tokenizer) CanonicalJSON() []byte {
	t.canonOnce.Do(func() { t.canonic = t.marshal() })
	return t.canonic
}

// Fingerprint is the hex SHA-256 of CanonicalJSON: equal fingerprints mean
// equal vocabularies, merges and added tokens, hence identical encodings.
func (t *Tokenizer) Fingerprint() string {
	sum := sha256.Sum256(t.CanonicalJSON())
	return hex.EncodeToString(sum[:])
}

func (t *Tokenizer) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, at := range t.added {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n    {\n      \"id\": %d,\n      \"content\": %s,\n", at.ID, jsonString(at.Content))
		b.WriteString("      \"single_word\": false,\n      \"lstrip\": false,\n      \"rstrip\": false,\n")
		fmt.Fprintf(&b, "      \"normalized\": %t,\n      \"special\": %t\n    }", at.Normalized, at.Special)
	}
	if len(t.added) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("],\n  \"normalizer\": ")
	t.norm.marshal(&b)
	b.WriteString(",\n  \"pre_tokenizer\": ")
	switch {
	case t.spm != nil:
		t.spm.pre.marshal(&b)
	case t.pre == preLlama3, t.pre == preQwen2, t.pre == preTekken:
		pat := Llama3Pattern
		switch t.pre {
		case preQwen2:
			pat = Qwen2Pattern
		case preTekken:
			pat = TekkenPattern
		}
		fmt.Fprintf(&b, `{
    "type": "Sequence",
    "pretokenizers": [
      {
        "type": "Split",
        "pattern": {
          "Regex": %s
        },
        "behavior": "Isolated",
        "invert": false
      },
      {
        "type": "ByteLevel",
        "add_prefix_space": false,
        "trim_offsets": true,
        "use_regex": false
      }
    ]
  }`, jsonString(pat))
	default:
		b.WriteString(`{
    "type": "ByteLevel",
    "add_prefix_space": false,
    "trim_offsets": true,
    "use_regex": true
  }`)
	}
	b.WriteString(",\n  \"post_processor\": ")
	switch {
	case t.tmpl != nil:
		t.tmpl.marshal(&b)
	case t.spm != nil:
		b.WriteString("null")
	default:
		b.WriteString(`{
    "type": "ByteLevel",
    "add_prefix_space": false,
    "trim_offsets": false,
    "use_regex": true
  }`)
	}
	b.WriteString(",\n  \"decoder\": ")
	vocab := t.tokens
	unk, fuseUnk, byteFallback := "null", false, false
	if t.spm != nil {
		marshalDecoder(&b, t.spm.dec)
		// Only the model's vocabulary: added tokens past it stay outside, as
		// the BPE model must not know them.
		vocab = t.tokens[:t.spm.nModel]
		if t.spm.unk >= 0 {
			unk = jsonString(t.tokens[t.spm.unk])
		}
		fuseUnk, byteFallback = t.spm.fuseUnk, t.spm.byteFallback
	} else {
		b.WriteString(`{
    "type": "ByteLevel",
    "add_prefix_space": false,
    "trim_offsets": true,
    "use_regex": true
  }`)
	}
	fmt.Fprintf(&b, `,
  "model": {
    "type": "BPE",
    "dropout": null,
    "unk_token": %s,
    "continuing_subword_prefix": null,
    "end_of_word_suffix": null,
    "fuse_unk": %t,
    "byte_fallback": %t,`, unk, fuseUnk, byteFallback)
	if t.ignoreMrg {
		b.WriteString("\n    \"ignore_merges\": true,")
	}
	b.WriteString(`
    "vocab": {`)
	for id, tok := range vocab {
		if id > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "\n      %s: %d", jsonString(tok), id)
	}
	b.WriteString("\n    },\n    \"merges\": [")
	pairs := false
	for _, m := range t.merges {
		if strings.Contains(t.tokens[m[0]], " ") || strings.Contains(t.tokens[m[1]], " ") {
			pairs = true
			break
		}
	}
	for i, m := range t.merges {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		if pairs {
			fmt.Fprintf(&b, "[%s, %s]", jsonString(t.tokens[m[0]]), jsonString(t.tokens[m[1]]))
		} else {
			b.WriteString(jsonString(t.tokens[m[0]] + " " + t.tokens[m[1]]))
		}
	}
	if len(t.merges) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("]\n  }\n}\n")
	return b.Bytes()
}

// jsonString quotes s as JSON without HTML escaping (as serde_json writes
// "<|endoftext|>"). s is valid UTF-8 (checked when the tokenizer is built).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // encoding a string cannot fail
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Save writes the tokenizer to path as a Hugging Face tokenizer.json (see
// CanonicalJSON), atomically: a temporary file in the same directory is
// written, synced and renamed over path, so path never holds half a file.
func (t *Tokenizer) Save(path string) error {
	if err := atomicdir.WriteFile(path, t.CanonicalJSON()); err != nil {
		return fmt.Errorf("tokenizer: save: %w", err) // err names path
	}
	return nil
}

// Load reads a Hugging Face tokenizer.json holding a byte-level BPE (the
// layout Save writes, GPT-2's, Llama-3's, Qwen2's) or a SentencePiece-style
// BPE with byte fallback (Llama-2's, Mistral's, Gemma's); Parse lists what
// is accepted. Errors name the file and the problem.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load %s: %w", path, err)
	}
	return t, nil
}

// Parse reads a tokenizer.json from memory; see Load.
//
// Accepted, in two layouts. Byte-level BPE (GPT-2, Llama-3, Qwen2,
// Mistral-Nemo): pre_tokenizer ByteLevel with add_prefix_space false and
// use_regex true (the default when absent), or Llama-3's, Qwen2's and
// Tekken's Sequence of a Split (Llama3Pattern, Qwen2Pattern or
// TekkenPattern, behavior "Isolated", invert false) and a
// ByteLevel with use_regex false; decoder ByteLevel; all 256 byte-level tokens
// in the vocabulary; unk_token, fuse_unk and byte_fallback accepted and
// ignored (no input is unknown). SentencePiece-style BPE (Llama-2, Mistral,
// Gemma; see spm.go): pre_tokenizer null, Metaspace, or Split on the String
// " " merged with the previous piece; decoder Replace (String pattern),
// ByteFallback, Fuse, Strip, Metaspace, or a Sequence of them; unk_token (in
// the vocabulary), fuse_unk and byte_fallback as Hugging Face applies them.
//
// Both: version "1.0"; normalizer null, NFC, Prepend, Replace (String
// pattern) or a Sequence of them; post_processor null, ByteLevel (it only
// moves offsets), TemplateProcessing (see EncodeWithSpecial) or a Sequence of
// those; model BPE without dropout, without continuing_subword_prefix or
// end_of_word_suffix (null or ""), with or without ignore_merges; merges as
// "a b" strings or ["a", "b"] pairs; added tokens with lstrip, rstrip and
// single_word false, special or not, normalized or not (the flag is required
// when there is a normalizer). truncation and padding are run-time settings
// and are ignored. Anything else is an error naming the field.
func Parse(data []byte) (*Tokenizer, error) {
	var f struct {
		Version       *string           `json:"version"`
		AddedTokens   []json.RawMessage `json:"added_tokens"`
		Normalizer    json.RawMessage   `json:"normalizer"`
		PreTokenizer  json.RawMessage   `json:"pre_tokenizer"`
		PostProcessor json.RawMessage   `json:"post_processor"`
		Decoder       json.RawMessage   `json:"decoder"`
		Model         *json.RawMessage  `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, jsonError(data, err)
	}
	if f.Version == nil || *f.Version != "1.0" {
		v := "missing"
		if f.Version != nil {
			v = fmt.Sprintf("%q", *f.Version)
		}
		return nil, fmt.Errorf("version is %s, want \"1.0\"", v)
	}
	nz, err := parseNormalizer(f.Normalizer)
	if err != nil {
		return nil, err
	}
	var (
		pre preKind
		sp  *spm
	)
	if isSPMPreTokenizer(f.PreTokenizer) {
		p, err := parseSPMPreTokenizer(f.PreTokenizer)
		if err != nil {
			return nil, err
		}
		dec, err := parseSPMDecoder(f.Decoder)
		if err != nil {
			return nil, err
		}
		sp = &spm{pre: p, dec: dec, unk: -1}
	} else {
		if pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, err
		}
		if err := checkByteLevel("decoder", f.Decoder, true); err != nil {
			return nil, err
		}
	}
	if f.Model == nil {
		return nil, errors.New("model is missing")
	}
	m, err := parseModel(*f.Model)
	if err != nil {
		return nil, err
	}
	vocab := m.vocab
	if sp != nil {
		sp.nModel = int32(len(vocab))
		sp.byteFallback, sp.fuseUnk = m.byteFallback, m.fuseUnk
	}
	added := make([]AddedToken, 0, len(f.AddedTokens))
	for i, raw := range f.AddedTokens {
		var a struct {
			ID         *int    `json:"id"`
			Content    *string `json:"content"`
			SingleWord bool    `json:"single_word"`
			Lstrip     bool    `json:"lstrip"`
			Rstrip     bool    `json:"rstrip"`
			Normalized *bool   `json:"normalized"`
			Special    bool    `json:"special"`
		}
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fmt.Errorf("added_tokens[%d]: %w", i, err)
		}
		if a.ID == nil || a.Content == nil {
			return nil, fmt.Errorf("added_tokens[%d]: needs id and content", i)
		}
		if a.SingleWord || a.Lstrip || a.Rstrip {
			return nil, fmt.Errorf("added_tokens[%d] (%q): single_word, lstrip and rstrip are not supported", i, *a.Content)
		}
		if a.Normalized == nil && nz != nil {
			return nil, fmt.Errorf("added_tokens[%d] (%q): normalized is missing (with a normalizer it decides where the token matches)", i, *a.Content)
		}
		if *a.ID == len(vocab) {
			// An added token after the model's vocabulary (how Hugging Face
			// stores tokens added to a trained model): extend the id space.
			vocab = append(vocab, *a.Content)
		}
		added = append(added, AddedToken{ID: *a.ID, Content: *a.Content, Special: a.Special, Normalized: a.Normalized != nil && *a.Normalized})
	}
	tmpl, err := parsePostProcessor(f.PostProcessor, vocab)
	if err != nil {
		return nil, err
	}
	t, err := newTokenizer(vocab, m.merges, added, nz, sp)
	if err != nil {
		return nil, err
	}
	if sp != nil && m.unk != nil {
		id, ok := t.modelID(*m.unk)
		if !ok {
			return nil, fmt.Errorf("model.unk_token %q is not in the model's vocabulary", *m.unk)
		}
		sp.unk = id
	}
	t.pre, t.ignoreMrg, t.tmpl = pre, m.ignoreMerges, tmpl
	return t, nil
}

// isSPMPreTokenizer reports whether a pre_tokenizer makes a
// SentencePiece-style tokenizer: null, or a Metaspace or (not in a Sequence)
// Split. Anything else is read as a byte-level one.
func isSPMPreTokenizer(raw json.RawMessage) bool {
	if isNull(raw) {
		return true
	}
	var c struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return false // parsePreTokenizer reports it
	}
	return c.Type == "Metaspace" || c.Type == "Split"
}

// parsePreTokenizer reads pre_tokenizer: ByteLevel with use_regex true
// (GPT-2's pattern), or a Sequence of a Split by Llama3Pattern,
// Qwen2Pattern or TekkenPattern (behavior "Isolated", invert false) and a
// ByteLevel with use_regex false, as Llama-3, Qwen2 and Mistral-Nemo ship.
func parsePreTokenizer(raw json.RawMessage) (preKind, error) {
	const field = "pre_tokenizer"
	var c struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if !isNull(raw) {
		if err := json.Unmarshal(raw, &c); err != nil {
			return 0, fmt.Errorf("%s: %w", field, err)
		}
	}
	if c.Type != "Sequence" {
		return preGPT2, checkByteLevel(field, raw, false)
	}
	if len(c.PreTokenizers) != 2 {
		return 0, fmt.Errorf("%s: a Sequence must be [Split, ByteLevel], got %d pre-tokenizers", field, len(c.PreTokenizers))
	}
	f0 := field + ".pretokenizers[0]"
	var sp struct {
		Type    string `json:"type"`
		Pattern struct {
			Regex  *string `json:"Regex"`
			String *string `json:"String"`
		} `json:"pattern"`
		Behavior string `json:"behavior"`
		Invert   bool   `json:"invert"`
	}
	if err := json.Unmarshal(c.PreTokenizers[0], &sp); err != nil {
		return 0, fmt.Errorf("%s: %w", f0, err)
	}
	var kind preKind
	switch {
	case sp.Type != "Split":
		return 0, fmt.Errorf("%s: type %q is not supported (want Split)", f0, sp.Type)
	case sp.Pattern.Regex == nil:
		return 0, fmt.Errorf("%s.pattern: want a Regex, got %s", f0, brief(c.PreTokenizers[0]))
	case *sp.Pattern.Regex == Llama3Pattern:
		kind = preLlama3
	case *sp.Pattern.Regex == Qwen2Pattern:
		kind = preQwen2
	case *sp.Pattern.Regex == TekkenPattern:
		kind = preTekken
	default:
		return 0, fmt.Errorf("%s.pattern.Regex %q is not supported (only Llama-3's, Qwen2's and Mistral Tekken's patterns are)", f0, *sp.Pattern.Regex)
	}
	if sp.Behavior != "Isolated" {
		return 0, fmt.Errorf("%s.behavior %q is not supported (want \"Isolated\")", f0, sp.Behavior)
	}
	if sp.Invert {
		return 0, fmt.Errorf("%s.invert true is not supported", f0)
	}
	f1 := field + ".pretokenizers[1]"
	var bl struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	}
	if err := json.Unmarshal(c.PreTokenizers[1], &bl); err != nil {
		return 0, fmt.Errorf("%s: %w", f1, err)
	}
	switch {
	case bl.Type != "ByteLevel":
		return 0, fmt.Errorf("%s: type %q is not supported (want ByteLevel)", f1, bl.Type)
	case bl.AddPrefixSpace:
		return 0, fmt.Errorf("%s.add_prefix_space true is not supported", f1)
	case bl.UseRegex == nil || *bl.UseRegex:
		return 0, fmt.Errorf("%s.use_regex must be false after a Split (GPT-2's regex would split again)", f1)
	}
	return kind, nil
}

// bpeModel is what parseModel reads of model.
type bpeModel struct {
	vocab        []string // dense: id -> token
	merges       [][2]string
	ignoreMerges bool
	unk          *string // unk_token, nil if null
	fuseUnk      bool
	byteFallback bool
}

// parseModel reads the BPE model: its vocabulary as a dense id -> token table,
// its merges as token-string pairs, and its flags.
func parseModel(raw json.RawMessage) (bpeModel, error) {
	var m struct {
		Type                    *string           `json:"type"`
		Dropout                 *float64          `json:"dropout"`
		UnkToken                *string           `json:"unk_token"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		FuseUnk                 bool              `json:"fuse_unk"`
		ByteFallback            bool              `json:"byte_fallback"`
		IgnoreMerges            bool              `json:"ignore_merges"`
		Vocab                   json.RawMessage   `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
	}
	var out bpeModel
	if err := json.Unmarshal(raw, &m); err != nil {
		return out, fmt.Errorf("model: %w", err)
	}
	switch {
	case m.Type == nil:
		return out, fmt.Errorf("model.type is missing (warm implements \"BPE\")")
	case *m.Type != "BPE":
		return out, fmt.Errorf("model.type %q is not supported (warm implements \"BPE\": byte-level, or SentencePiece-style with byte fallback)", *m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return out, fmt.Errorf("model.dropout %g is not supported (want null)", *m.Dropout)
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return out, fmt.Errorf("model.continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return out, fmt.Errorf("model.end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	case isNull(m.Vocab):
		return out, fmt.Errorf("model.vocab is missing")
	}
	vocab, err := parseVocab(m.Vocab)
	if err != nil {
		return out, err
	}
	merges := make([][2]string, len(m.Merges))
	for i, r := range m.Merges {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || a == "" || b == "" || strings.Contains(b, " ") {
				return out, fmt.Errorf("model.merges[%d] %q: want two tokens separated by one space", i, s)
			}
			merges[i] = [2]string{a, b}
			continue
		}
		var p []string
		if err := json.Unmarshal(r, &p); err != nil || len(p) != 2 {
			return out, fmt.Errorf("model.merges[%d] %s: want \"a b\" or [\"a\", \"b\"]", i, brief(r))
		}
		merges[i] = [2]string{p[0], p[1]}
	}
	return bpeModel{vocab: vocab, merges: merges, ignoreMerges: m.IgnoreMerges, unk: m.UnkToken, fuseUnk: m.FuseUnk, byteFallback: m.ByteFallback}, nil
}

// parseVocab reads the {"token": id, ...} object with a streaming decoder so
// that duplicate keys are caught, and returns the dense table of tokens by id.
func parseVocab(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("model.vocab must be an object of token: id")
	}
	byID := make(map[int]string)
	seen := make(map[string]bool)
	maxID := -1
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("model.vocab: %w", err)
		}
		key := kt.(string)
		vt, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("model.vocab[%q]: %w", key, err)
		}
		num, ok := vt.(json.Number)
		if !ok {
			return nil, fmt.Errorf("model.vocab[%q]: id must be a number", key)
		}
		id64, err := num.Int64()
		if err != nil || id64 < 0 || id64 >= 1<<30 {
			return nil, fmt.Errorf("model.vocab[%q]: bad id %s", key, num)
		}
		id := int(id64)
		if seen[key] {
			return nil, fmt.Errorf("model.vocab: token %q appears twice", key)
		}
		seen[key] = true
		if prev, dup := byID[id]; dup {
			return nil, fmt.Errorf("model.vocab: id %d is used by both %q and %q", id, prev, key)
		}
		byID[id] = key
		maxID = max(maxID, id)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	if len(byID) != maxID+1 {
		for id := 0; id <= maxID; id++ {
			if _, ok := byID[id]; !ok {
				return nil, fmt.Errorf("model.vocab: ids must be 0..%d without gaps; id %d is missing", maxID, id)
			}
		}
	}
	vocab := make([]string, maxID+1)
	for id, tok := range byID {
		vocab[id] = tok
	}
	return vocab, nil
}

// checkByteLevel checks that raw is a ByteLevel component; add_prefix_space
// must be false unless anyPrefix (it matters only when pre-tokenizing), and a
// pre-tokenizer's use_regex must be true or absent.
func checkByteLevel(field string, raw json.RawMessage, anyPrefix bool) error {
	if isNull(raw) {
		return fmt.Errorf("%s must be ByteLevel, got null", field)
	}
	var c struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if c.Type != "ByteLevel" {
		return fmt.Errorf("%s must be ByteLevel, got %s", field, brief(raw))
	}
	if !anyPrefix && c.AddPrefixSpace {
		return fmt.Errorf("%s: add_prefix_space true is not supported", field)
	}
	if field == "pre_tokenizer" && c.UseRegex != nil && !*c.UseRegex {
		return fmt.Errorf("%s: use_regex false is not supported", field)
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	r := bytes.TrimSpace(raw)
	return len(r) == 0 || string(r) == "null"
}

// brief shortens a JSON value for an error message.
func brief(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// jsonError turns a JSON decoding error into one with a line and column.
func jsonError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	case errors.Is(err, io.ErrUnexpectedEOF):
		off = int64(len(data))
	default:
		return fmt.Errorf("malformed JSON: %w", err)
	}
	off = min(max(off, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("malformed JSON at line %d, column %d: %w", line, col, err)
}
