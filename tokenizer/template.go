package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// template is a TemplateProcessing post-processor: the single and pair
// templates as read, the special tokens they name, and the ids the single
// template puts before and after the text (prefix, suffix).
type template struct {
	single, pair   []tmplItem
	special        map[string]tmplSpecial
	prefix, suffix []int
}

// tmplItem is one entry of a template: a special token (special != "") or the
// sequence "A" or "B" (seq).
type tmplItem struct {
	special string
	seq     string
	typeID  int
}

// tmplSpecial is an entry of special_tokens: the ids and tokens it stands for.
type tmplSpecial struct {
	ids    []int
	tokens []string
}

// parsePostProcessor reads post_processor: null, ByteLevel (it only moves
// offsets), TemplateProcessing, or a Sequence of those with at most one
// TemplateProcessing. vocab checks the template's ids and tokens.
func parsePostProcessor(raw json.RawMessage, vocab []string) (*template, error) {
	const field = "post_processor"
	if isNull(raw) {
		return nil, nil
	}
	var c struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	switch c.Type {
	case "ByteLevel":
		return nil, checkByteLevel(field, raw, true)
	case "TemplateProcessing":
		return parseTemplate(field, raw, vocab)
	case "Sequence":
		var tmpl *template
		for i, p := range c.Processors {
			f := fmt.Sprintf("%s.processors[%d]", field, i)
			var pc struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(p, &pc); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			switch pc.Type {
			case "ByteLevel":
				if err := checkByteLevel(f, p, true); err != nil {
					return nil, err
				}
			case "TemplateProcessing":
				if tmpl != nil {
					return nil, fmt.Errorf("%s: a second TemplateProcessing is not supported", f)
				}
				t, err := parseTemplate(f, p, vocab)
				if err != nil {
					return nil, err
				}
				tmpl = t
			default:
				return nil, fmt.Errorf("%s: type %q is not supported (want ByteLevel or TemplateProcessing)", f, pc.Type)
			}
		}
		return tmpl, nil
	}
	return nil, fmt.Errorf("%s: type %q is not supported (want null, ByteLevel, TemplateProcessing or Sequence), got %s", field, c.Type, brief(raw))
}

// parseTemplate reads a TemplateProcessing post-processor.
func parseTemplate(field string, raw json.RawMessage, vocab []string) (*template, error) {
	var c struct {
		Single        []json.RawMessage `json:"single"`
		Pair          []json.RawMessage `json:"pair"`
		SpecialTokens map[string]struct {
			ID     string   `json:"id"`
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	t := &template{special: make(map[string]tmplSpecial, len(c.SpecialTokens))}
	for name, st := range c.SpecialTokens {
		f := fmt.Sprintf("%s.special_tokens[%q]", field, name)
		if st.ID != name {
			return nil, fmt.Errorf("%s: id %q differs from its key", f, st.ID)
		}
		if len(st.IDs) == 0 || len(st.IDs) != len(st.Tokens) {
			return nil, fmt.Errorf("%s: want as many ids as tokens, at least one", f)
		}
		for k, id := range st.IDs {
			if id < 0 || id >= len(vocab) || vocab[id] != st.Tokens[k] {
				return nil, fmt.Errorf("%s: id %d is not token %q in the vocabulary", f, id, st.Tokens[k])
			}
		}
		t.special[name] = tmplSpecial{ids: st.IDs, tokens: st.Tokens}
	}
	var err error
	if t.single, err = parseTemplateItems(field+".single", c.Single, t.special, false); err != nil {
		return nil, err
	}
	if c.Pair != nil {
		if t.pair, err = parseTemplateItems(field+".pair", c.Pair, t.special, true); err != nil {
			return nil, err
		}
	}
	a := slices.IndexFunc(t.single, func(it tmplItem) bool { return it.seq == "A" })
	for i, it := range t.single {
		if it.special != "" {
			if i < a {
				t.prefix = append(t.prefix, t.special[it.special].ids...)
			} else {
				t.suffix = append(t.suffix, t.special[it.special].ids...)
			}
		}
	}
	return t, nil
}

// parseTemplateItems reads a template: SpecialToken entries naming
// special_tokens, and the sequence A exactly once (and B once in a pair).
func parseTemplateItems(field string, raws []json.RawMessage, special map[string]tmplSpecial, pair bool) ([]tmplItem, error) {
	items := make([]tmplItem, 0, len(raws))
	seen := map[string]int{}
	for i, r := range raws {
		var e struct {
			SpecialToken *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			}
			Sequence *struct {
				ID     string `json:"id"`
				TypeID int    `json:"type_id"`
			}
		}
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		switch {
		case e.SpecialToken != nil && e.Sequence == nil:
			if _, ok := special[e.SpecialToken.ID]; !ok {
				return nil, fmt.Errorf("%s[%d]: special token %q is not in special_tokens", field, i, e.SpecialToken.ID)
			}
			items = append(items, tmplItem{special: e.SpecialToken.ID, typeID: e.SpecialToken.TypeID})
		case e.Sequence != nil && e.SpecialToken == nil:
			id := e.Sequence.ID
			if id != "A" && (id != "B" || !pair) {
				return nil, fmt.Errorf("%s[%d]: sequence %q is not allowed here", field, i, id)
			}
			seen[id]++
			items = append(items, tmplItem{seq: id, typeID: e.Sequence.TypeID})
		default:
			return nil, fmt.Errorf("%s[%d]: want {\"SpecialToken\": ...} or {\"Sequence\": ...}, got %s", field, i, brief(r))
		}
	}
	if seen["A"] != 1 || (pair && seen["B"] != 1) {
		want := "A once"
		if pair {
			want = "A and B once each"
		}
		return nil, fmt.Errorf("%s: the template must hold sequence %s", field, want)
	}
	return items, nil
}

// marshal writes the template as a TemplateProcessing post_processor, in
// canonical form (special_tokens sorted by name), indented for CanonicalJSON.
func (t *template) marshal(b *bytes.Buffer) {
	b.WriteString("{\n    \"type\": \"TemplateProcessing\",\n    \"single\": ")
	marshalItems(b, t.single)
	if t.pair != nil {
		b.WriteString(",\n    \"pair\": ")
		marshalItems(b, t.pair)
	}
	b.WriteString(",\n    \"special_tokens\": {")
	names := make([]string, 0, len(t.special))
	for n := range t.special {
		names = append(names, n)
	}
	slices.Sort(names)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		st := t.special[n]
		ids := make([]string, len(st.ids))
		toks := make([]string, len(st.tokens))
		for k := range st.ids {
			ids[k] = fmt.Sprint(st.ids[k])
			toks[k] = jsonString(st.tokens[k])
		}
		fmt.Fprintf(b, "\n      %s: {\"id\": %s, \"ids\": [%s], \"tokens\": [%s]}", jsonString(n), jsonString(n), strings.Join(ids, ", "), strings.Join(toks, ", "))
	}
	if len(names) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteString("}\n  }")
}

func marshalItems(b *bytes.Buffer, items []tmplItem) {
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if it.special != "" {
			fmt.Fprintf(b, "\n      {\"SpecialToken\": {\"id\": %s, \"type_id\": %d}}", jsonString(it.special), it.typeID)
		} else {
			fmt.Fprintf(b, "\n      {\"Sequence\": {\"id\": %s, \"type_id\": %d}}", jsonString(it.seq), it.typeID)
		}
	}
	if len(items) > 0 {
		b.WriteString("\n    ")
	}
	b.WriteByte(']')
}
