package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SentencePiece-style BPE, as Llama-2, Mistral and Gemma ship it in
// tokenizer.json: the BPE works on the characters of the normalized text (not
// on bytes), spaces are the metaspace "▁", characters outside the vocabulary
// become their UTF-8 bytes as "<0xXX>" tokens (byte_fallback) or the unknown
// token, and the decoder is a chain of string steps. Every rule here follows
// Hugging Face tokenizers' Rust source (models/bpe/model.rs,
// pre_tokenizers/metaspace.rs, decoders/*.rs); docs/TOKENIZER-NOTES.md lists
// where @huggingface/tokenizers (the JS port the parity test runs) differs.

// spm is what a SentencePiece-style tokenizer adds to the BPE tables.
type spm struct {
	pre          spmPre
	byteFallback bool
	fuseUnk      bool
	unk          int32      // id of model.unk_token, or -1 (unknown characters are dropped)
	byteTok      [256]int32 // id of "<0xXX>" for each byte, or -1
	nModel       int32      // ids below nModel are the model's vocabulary; added tokens past it are not
	dec          []decStep
}

// spmPre is the pre-tokenizer: none (the whole normalized piece is one BPE
// word), Metaspace, or Gemma's Split on " " merged with the previous piece.
type spmPre struct {
	kind   spmPreKind
	repl   string // Metaspace replacement character
	scheme prependScheme
	split  bool // Metaspace split: each replacement character starts a word
}

type spmPreKind uint8

const (
	spmPreNone spmPreKind = iota
	spmPreMetaspace
	spmPreSplitSpace
)

// prependScheme is Metaspace's prepend_scheme.
type prependScheme uint8

const (
	prependAlways prependScheme = iota // Rust's default
	prependFirst
	prependNever
)

var prependNames = [...]string{"always", "first", "never"}

// words calls fn with each word of a normalized piece of text. atStart is
// whether the piece starts at offset 0 of the input text (Metaspace's "first"
// prepends only then; Rust tests offsets_original().0 == 0, so a text that
// starts with an added token gets no "▁" after it).
func (p *spmPre) words(s string, atStart bool, fn func(string)) {
	switch p.kind {
	case spmPreNone:
		fn(s)
	case spmPreSplitSpace:
		// Split(" ", MergedWithPrevious): every space ends a word.
		for s != "" {
			i := strings.IndexByte(s, ' ')
			if i < 0 {
				fn(s)
				return
			}
			fn(s[:i+1])
			s = s[i+1:]
		}
	case spmPreMetaspace:
		s = strings.ReplaceAll(s, " ", p.repl)
		if !strings.HasPrefix(s, p.repl) && (p.scheme == prependAlways || p.scheme == prependFirst && atStart) {
			s = p.repl + s
		}
		if !p.split {
			fn(s)
			return
		}
		// Split on the replacement, MergedWithNext: every replacement
		// character starts a word ("▁▁a" is "▁", "▁a").
		for s != "" {
			k := 0
			if strings.HasPrefix(s, p.repl) {
				k = len(p.repl)
			}
			j := strings.Index(s[k:], p.repl)
			if j < 0 {
				fn(s)
				return
			}
			fn(s[:k+j])
			s = s[k+j:]
		}
	}
}

// bpeSPM encodes one word the way Rust's BPE::merge_word does: each
// character that is in the model's vocabulary is a symbol; any other
// becomes, with byte_fallback and when all of them exist, the "<0xXX>" tokens
// of its UTF-8 bytes, and otherwise the unknown token (consecutive unknown
// characters give one with fuse_unk; none at all without unk_token). Then the
// merges apply by rank, as for byte-level BPE. A byte of invalid UTF-8 is a
// character of its own (Rust never sees one), so it falls back to its byte
// token.
//
// One quirk of Rust's loop is kept: a pending unknown token is written only
// when the next known character (or the end) comes, so byte-fallback tokens
// of a character after it come first. It needs a vocabulary that lacks some
// byte tokens; real ones have all 256.
func (t *Tokenizer) bpeSPM(w string) []int32 {
	sp := t.spm
	if t.ignoreMrg {
		if id, ok := t.modelID(w); ok {
			return []int32{id}
		}
	}
	syms := make([]int32, 0, len(w))
	unk := false // an unknown token is pending
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		c := w[i : i+size]
		i += size
		if id, ok := t.modelID(c); ok {
			if unk {
				syms = append(syms, sp.unk)
				unk = false
			}
			syms = append(syms, id)
			continue
		}
		if sp.byteFallback && sp.hasBytes(c) {
			for k := 0; k < len(c); k++ {
				syms = append(syms, sp.byteTok[c[k]])
			}
			continue
		}
		if sp.unk >= 0 {
			if unk && !sp.fuseUnk {
				syms = append(syms, sp.unk)
			}
			unk = true
		}
	}
	if unk {
		syms = append(syms, sp.unk)
	}
	return t.mergeAll(syms)
}

// modelID is the id of s in the model's vocabulary (not an added token past
// it: Rust's BPE model does not know those).
func (t *Tokenizer) modelID(s string) (int32, bool) {
	id, ok := t.ids[s]
	return id, ok && id < t.spm.nModel
}

func (sp *spm) hasBytes(c string) bool {
	for k := 0; k < len(c); k++ {
		if sp.byteTok[c[k]] < 0 {
			return false
		}
	}
	return true
}

// byteTokenName is the vocabulary spelling of byte b's fallback token, as
// Rust's format!("<{b:#04X}>"): "<0x0A>".
func byteTokenName(b byte) string { return fmt.Sprintf("<0x%02X>", b) }

// decStep is one step of a SentencePiece-style decoder chain.
type decStep struct {
	kind        decKind
	pat, with   string // Replace
	ch          rune   // Strip content
	start, stop int    // Strip: characters to strip at most at each end
	repl        string // Metaspace replacement
	scheme      prependScheme
	split       bool // Metaspace, kept for CanonicalJSON only
}

type decKind uint8

const (
	decReplace decKind = iota + 1
	decByteFallback
	decFuse
	decStrip
	decMetaspace
)

// decodeSPM decodes ids with the decoder chain, as Rust's Tokenizer::decode
// (skip_special_tokens false): the tokens (added ones as their content) go
// through each step, then are joined. lossy is Hugging Face's output; without
// it, a run of byte tokens that is not valid UTF-8 stays those raw bytes
// instead of one U+FFFD per byte token.
func (t *Tokenizer) decodeSPM(ids []int, lossy bool) (string, error) {
	toks := make([]string, len(ids))
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			return "", fmt.Errorf("decode: id %d at position %d outside the vocabulary [0, %d)", id, i, len(t.tokens))
		}
		toks[i] = t.tokens[id]
	}
	for _, st := range t.spm.dec {
		toks = st.apply(toks, lossy)
	}
	return strings.Join(toks, ""), nil
}

func (st *decStep) apply(toks []string, lossy bool) []string {
	switch st.kind {
	case decReplace:
		for i, tok := range toks {
			toks[i] = strings.ReplaceAll(tok, st.pat, st.with)
		}
	case decMetaspace:
		for i, tok := range toks {
			if i == 0 && st.scheme != prependNever {
				// Rust drops every replacement character of the first token,
				// not only a leading one.
				toks[i] = strings.ReplaceAll(tok, st.repl, "")
			} else {
				toks[i] = strings.ReplaceAll(tok, st.repl, " ")
			}
		}
	case decFuse:
		return []string{strings.Join(toks, "")}
	case decStrip:
		for i, tok := range toks {
			toks[i] = stripChars(tok, st.ch, st.start, st.stop)
		}
	case decByteFallback:
		return byteFallbackDecode(toks, lossy)
	}
	return toks
}

// byteFallbackDecode is Rust's ByteFallback decoder: each run of consecutive
// byte tokens becomes one string of those bytes if they are valid UTF-8, and
// otherwise one U+FFFD per byte token (lossy) or the raw bytes (not lossy).
// Hugging Face's JS port replaces maximal ill-formed subsequences instead.
func byteFallbackDecode(toks []string, lossy bool) []string {
	out := make([]string, 0, len(toks))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if lossy && !utf8.Valid(run) {
			out = append(out, strings.Repeat("\uFFFD", len(run)))
		} else {
			out = append(out, string(run))
		}
		run = run[:0]
	}
	for _, tok := range toks {
		if b, ok := byteToken(tok); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, tok)
	}
	flush()
	return out
}

// byteToken reports whether tok is a byte token for Rust's ByteFallback
// decoder: six bytes, "<0x", two characters that u8::from_str_radix(_, 16)
// accepts (hex digits of either case, or "+" and one digit), ">".
func byteToken(tok string) (byte, bool) {
	if len(tok) != 6 || !strings.HasPrefix(tok, "<0x") || tok[5] != '>' {
		return 0, false
	}
	if tok[3] == '+' {
		return hexDigit(tok[4])
	}
	hi, ok1 := hexDigit(tok[3])
	lo, ok2 := hexDigit(tok[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// stripChars is Rust's Strip decoder on one token: up to start leading and
// stop trailing ch characters are removed.
func stripChars(tok string, ch rune, start, stop int) string {
	lo := 0
	for k := 0; k < start && lo < len(tok); k++ {
		r, size := utf8.DecodeRuneInString(tok[lo:])
		if r != ch || size != utf8.RuneLen(ch) {
			break
		}
		lo += size
	}
	hi := len(tok)
	for k := 0; k < stop && hi > lo; k++ {
		r, size := utf8.DecodeLastRuneInString(tok[lo:hi])
		if r != ch || size != utf8.RuneLen(ch) {
			break
		}
		hi -= size
	}
	return tok[lo:hi]
}

// tokenPiece is what one token stands for in the middle of a text (for
// TokenBytes): the Replace and Metaspace steps applied, and a byte token as
// its byte.
func tokenPiece(steps []decStep, tok string) string {
	for _, st := range steps {
		switch st.kind {
		case decReplace:
			tok = strings.ReplaceAll(tok, st.pat, st.with)
		case decMetaspace:
			tok = strings.ReplaceAll(tok, st.repl, " ")
		case decByteFallback:
			if b, ok := byteToken(tok); ok {
				tok = string([]byte{b})
			}
		}
	}
	return tok
}

// parseSPMPreTokenizer reads the pre_tokenizer of a SentencePiece-style
// tokenizer: null, Metaspace, or Split with the String " " and behavior
// MergedWithPrevious (Gemma's; a no-op after its Replace normalizer).
func parseSPMPreTokenizer(raw json.RawMessage) (spmPre, error) {
	const field = "pre_tokenizer"
	if isNull(raw) {
		return spmPre{kind: spmPreNone}, nil
	}
	var c struct {
		Type     string       `json:"type"`
		Pattern  *patternJSON `json:"pattern"`
		Behavior string       `json:"behavior"`
		Invert   bool         `json:"invert"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return spmPre{}, fmt.Errorf("%s: %w", field, err)
	}
	switch c.Type {
	case "Metaspace":
		repl, scheme, split, err := parseMetaspace(field, raw)
		return spmPre{kind: spmPreMetaspace, repl: repl, scheme: scheme, split: split}, err
	case "Split":
		pat, err := c.Pattern.str(field + ".pattern")
		switch {
		case err != nil:
			return spmPre{}, err
		case pat != " ":
			return spmPre{}, fmt.Errorf("%s.pattern.String %q is not supported (only Gemma's \" \")", field, pat)
		case c.Behavior != "MergedWithPrevious":
			return spmPre{}, fmt.Errorf("%s.behavior %q is not supported with a String pattern (want \"MergedWithPrevious\")", field, c.Behavior)
		case c.Invert:
			return spmPre{}, fmt.Errorf("%s.invert true is not supported", field)
		}
		return spmPre{kind: spmPreSplitSpace}, nil
	}
	return spmPre{}, fmt.Errorf("%s: type %q is not supported with a SentencePiece-style model (want null, Metaspace or Split), got %s", field, c.Type, brief(raw))
}

// parseMetaspace reads a Metaspace pre-tokenizer or decoder as Rust's
// deserializer does: replacement (one character) is required, prepend_scheme
// defaults to "always", split to true, and the legacy add_prefix_space false
// is allowed only with prepend_scheme "never".
func parseMetaspace(field string, raw json.RawMessage) (string, prependScheme, bool, error) {
	var m struct {
		Replacement    *string `json:"replacement"`
		PrependScheme  *string `json:"prepend_scheme"`
		AddPrefixSpace *bool   `json:"add_prefix_space"`
		Split          *bool   `json:"split"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", 0, false, fmt.Errorf("%s: %w", field, err)
	}
	if m.Replacement == nil {
		return "", 0, false, fmt.Errorf("%s.replacement is missing", field)
	}
	if _, err := oneChar(field+".replacement", *m.Replacement); err != nil {
		return "", 0, false, err
	}
	scheme := prependAlways
	if m.PrependScheme != nil {
		k := -1
		for i, n := range prependNames {
			if n == *m.PrependScheme {
				k = i
			}
		}
		if k < 0 {
			return "", 0, false, fmt.Errorf("%s.prepend_scheme %q: want \"always\", \"first\" or \"never\"", field, *m.PrependScheme)
		}
		scheme = prependScheme(k)
	}
	if m.AddPrefixSpace != nil && !*m.AddPrefixSpace && scheme != prependNever {
		return "", 0, false, fmt.Errorf("%s.add_prefix_space false does not match prepend_scheme %q", field, prependNames[scheme])
	}
	split := m.Split == nil || *m.Split
	return *m.Replacement, scheme, split, nil
}

// parseSPMDecoder reads the decoder of a SentencePiece-style tokenizer:
// Replace (String pattern), ByteFallback, Fuse, Strip or Metaspace, or a
// Sequence of those (nested ones flattened).
func parseSPMDecoder(raw json.RawMessage) ([]decStep, error) {
	if isNull(raw) {
		return nil, fmt.Errorf("decoder: null is not supported with a SentencePiece-style model (Hugging Face would join the tokens with spaces)")
	}
	var steps []decStep
	if err := addDecoder(&steps, "decoder", raw); err != nil {
		return nil, err
	}
	return steps, nil
}

func addDecoder(steps *[]decStep, field string, raw json.RawMessage) error {
	var c struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
		Pattern  *patternJSON      `json:"pattern"`
		Content  *json.RawMessage  `json:"content"`
		Start    *int              `json:"start"`
		Stop     *int              `json:"stop"`
	}
	if isNull(raw) {
		return fmt.Errorf("%s: null is not a decoder", field)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	content := func() (string, error) {
		var s string
		if c.Content == nil {
			return "", fmt.Errorf("%s.content is missing", field)
		}
		if err := json.Unmarshal(*c.Content, &s); err != nil {
			return "", fmt.Errorf("%s.content: %w", field, err)
		}
		return s, nil
	}
	switch c.Type {
	case "Sequence":
		if c.Decoders == nil {
			return fmt.Errorf("%s.decoders is missing", field)
		}
		for i, r := range c.Decoders {
			if err := addDecoder(steps, fmt.Sprintf("%s.decoders[%d]", field, i), r); err != nil {
				return err
			}
		}
	case "Replace":
		pat, err := c.Pattern.str(field + ".pattern")
		if err != nil {
			return err
		}
		with, err := content()
		if err != nil {
			return err
		}
		*steps = append(*steps, decStep{kind: decReplace, pat: pat, with: with})
	case "ByteFallback":
		*steps = append(*steps, decStep{kind: decByteFallback})
	case "Fuse":
		*steps = append(*steps, decStep{kind: decFuse})
	case "Strip":
		s, err := content()
		if err != nil {
			return err
		}
		ch, err := oneChar(field+".content", s)
		if err != nil {
			return err
		}
		if c.Start == nil || c.Stop == nil || *c.Start < 0 || *c.Stop < 0 {
			return fmt.Errorf("%s: start and stop must be counts (>= 0)", field)
		}
		*steps = append(*steps, decStep{kind: decStrip, ch: ch, start: *c.Start, stop: *c.Stop})
	case "Metaspace":
		repl, scheme, split, err := parseMetaspace(field, raw)
		if err != nil {
			return err
		}
		*steps = append(*steps, decStep{kind: decMetaspace, repl: repl, scheme: scheme, split: split})
	default:
		return fmt.Errorf("%s: type %q is not supported with a SentencePiece-style model (want Replace, ByteFallback, Fuse, Strip, Metaspace or a Sequence of them), got %s", field, c.Type, brief(raw))
	}
	return nil
}

// marshal writes the pre-tokenizer in canonical form.
func (p *spmPre) marshal(b *bytes.Buffer) {
	switch p.kind {
	case spmPreNone:
		b.WriteString("null")
	case spmPreSplitSpace:
		b.WriteString(`{"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false}`)
	case spmPreMetaspace:
		fmt.Fprintf(b, `{"type": "Metaspace", "replacement": %s, "prepend_scheme": %q, "split": %t}`, jsonString(p.repl), prependNames[p.scheme], p.split)
	}
}

// marshalDecoder writes the decoder chain in canonical form: the one step,
// or a flat Sequence.
func marshalDecoder(b *bytes.Buffer, steps []decStep) {
	if len(steps) == 1 {
		steps[0].marshal(b)
		return
	}
	b.WriteString("{\n    \"type\": \"Sequence\",\n    \"decoders\": [")
	for i := range steps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n      ")
		steps[i].marshal(b)
	}
	b.WriteString("\n    ]\n  }")
}

func (st *decStep) marshal(b *bytes.Buffer) {
	switch st.kind {
	case decReplace:
		fmt.Fprintf(b, `{"type": "Replace", "pattern": {"String": %s}, "content": %s}`, jsonString(st.pat), jsonString(st.with))
	case decByteFallback:
		b.WriteString(`{"type": "ByteFallback"}`)
	case decFuse:
		b.WriteString(`{"type": "Fuse"}`)
	case decStrip:
		fmt.Fprintf(b, `{"type": "Strip", "content": %s, "start": %d, "stop": %d}`, jsonString(string(st.ch)), st.start, st.stop)
	case decMetaspace:
		fmt.Fprintf(b, `{"type": "Metaspace", "replacement": %s, "prepend_scheme": %q, "split": %t}`, jsonString(st.repl), prependNames[st.scheme], st.split)
	}
}
