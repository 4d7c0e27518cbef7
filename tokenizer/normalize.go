package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizer is a tokenizer.json normalizer: its steps, applied in order to
// each piece of text between added tokens (Hugging Face normalizes after
// cutting out the added tokens that are not "normalized"). A nil normalizer
// changes nothing. Nested Sequences are flattened.
type normalizer []normStep

// normStep is one normalizer: NFC, Prepend(s) or Replace(s → with), the only
// kinds the supported models ship (Qwen2: NFC; Llama-2 and Mistral's older
// conversions: Prepend("▁") then Replace(" " → "▁"); Gemma: Replace).
type normStep struct {
	kind    normKind
	s, with string // Prepend: s; Replace: the String pattern s and its content with
}

type normKind uint8

const (
	normNFC normKind = iota + 1
	normPrepend
	normReplace
)

// apply normalizes s. Prepend changes only a non-empty string, as Hugging
// Face's does; Replace replaces every non-overlapping occurrence, left to
// right. NFC leaves invalid UTF-8 bytes as they are (they block composition).
func (n normalizer) apply(s string) string {
	for _, st := range n {
		switch st.kind {
		case normNFC:
			s = norm.NFC.String(s)
		case normPrepend:
			if s != "" {
				s = st.s + s
			}
		case normReplace:
			s = strings.ReplaceAll(s, st.s, st.with)
		}
	}
	return s
}

// parseNormalizer reads normalizer: null, NFC, Prepend, Replace with a String
// pattern, or a Sequence of those.
func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var n normalizer
	if err := n.add("normalizer", raw); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *normalizer) add(field string, raw json.RawMessage) error {
	var c struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
		Prepend     *string           `json:"prepend"`
		Pattern     *patternJSON      `json:"pattern"`
		Content     *string           `json:"content"`
	}
	if isNull(raw) {
		return fmt.Errorf("%s: null is not a normalizer", field)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	switch c.Type {
	case "NFC":
		*n = append(*n, normStep{kind: normNFC})
	case "Prepend":
		if c.Prepend == nil {
			return fmt.Errorf("%s.prepend is missing", field)
		}
		*n = append(*n, normStep{kind: normPrepend, s: *c.Prepend})
	case "Replace":
		pat, err := c.Pattern.str(field + ".pattern")
		if err != nil {
			return err
		}
		if c.Content == nil {
			return fmt.Errorf("%s.content is missing", field)
		}
		*n = append(*n, normStep{kind: normReplace, s: pat, with: *c.Content})
	case "Sequence":
		if c.Normalizers == nil {
			return fmt.Errorf("%s.normalizers is missing", field)
		}
		for i, r := range c.Normalizers {
			if err := n.add(fmt.Sprintf("%s.normalizers[%d]", field, i), r); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s: type %q is not supported (want NFC, Prepend, Replace or a Sequence of them), got %s", field, c.Type, brief(raw))
	}
	return nil
}

// patternJSON is a Replace or Split pattern: {"String": s} or {"Regex": r}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

// str returns a String pattern, which must be non-empty; a Regex is an
// error naming field.
func (p *patternJSON) str(field string) (string, error) {
	switch {
	case p == nil:
		return "", fmt.Errorf("%s is missing", field)
	case p.Regex != nil:
		return "", fmt.Errorf("%s: a Regex (%q) is not supported here, only a String", field, *p.Regex)
	case p.String == nil:
		return "", fmt.Errorf("%s: want {\"String\": ...}", field)
	case *p.String == "":
		return "", fmt.Errorf("%s: the empty String is not supported", field)
	}
	return *p.String, nil
}

// marshal writes the normalizer in canonical form: null, the one step, or a
// flat Sequence.
func (n normalizer) marshal(b *bytes.Buffer) {
	switch len(n) {
	case 0:
		b.WriteString("null")
	case 1:
		n[0].marshal(b)
	default:
		b.WriteString("{\n    \"type\": \"Sequence\",\n    \"normalizers\": [")
		for i, st := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("\n      ")
			st.marshal(b)
		}
		b.WriteString("\n    ]\n  }")
	}
}

func (st normStep) marshal(b *bytes.Buffer) {
	switch st.kind {
	case normNFC:
		b.WriteString(`{"type": "NFC"}`)
	case normPrepend:
		fmt.Fprintf(b, `{"type": "Prepend", "prepend": %s}`, jsonString(st.s))
	case normReplace:
		fmt.Fprintf(b, `{"type": "Replace", "pattern": {"String": %s}, "content": %s}`, jsonString(st.s), jsonString(st.with))
	}
}

// oneChar returns the single character of s, or an error naming field.
func oneChar(field, s string) (rune, error) {
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) || (r == utf8.RuneError && size == 1) {
		return 0, fmt.Errorf("%s %q: want exactly one character", field, s)
	}
	return r, nil
}
