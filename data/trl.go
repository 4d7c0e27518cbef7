package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message is one turn of a conversation in TRL's conversational format.
type Message struct {
	// Role is "user", "assistant", "system" (or any other role name).
	Role string `json:"role"`
	// Content is the turn's text.
	Content string `json:"content"`
}

// AssistantMarker is the text that opens an assistant turn in rendered
// conversations and in HH-RLHF dialogues. An implicit prompt is split after
// the last occurrence of it shared by both responses.
const AssistantMarker = "\n\nAssistant:"

// RoleLabel returns the speaker label used when rendering a role as text:
// "user" and "human" become "Human", "assistant" becomes "Assistant",
// "system" becomes "System", and any other role is capitalised as is.
func RoleLabel(role string) string {
	switch strings.ToLower(role) {
	case "user", "human":
		return "Human"
	case "assistant":
		return "Assistant"
	case "system":
		return "System"
	}
	r, n := utf8.DecodeRuneInString(role)
	return string(unicode.ToUpper(r)) + role[n:]
}

// RenderConversation renders messages as text with the HH-RLHF template: each
// turn is "\n\n" + RoleLabel(role) + ": " + content. This is the simple,
// fixed template warm uses for every conversational value, so conversational
// TRL files and HH-RLHF files produce the same kind of text.
func RenderConversation(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("\n\n")
		b.WriteString(RoleLabel(m.Role))
		b.WriteString(": ")
		b.WriteString(m.Content)
	}
	return b.String()
}

// renderPromptResponse renders an explicit conversational prompt and response
// so that prompt + response equals RenderConversation(prompt ++ response): the
// prompt ends with AssistantMarker and the response starts with " " + the
// first assistant turn's content. The response must start with an assistant
// turn.
func renderPromptResponse(prompt, resp []Message) (string, string, error) {
	if len(resp) == 0 {
		return "", "", errors.New("conversational response has no messages")
	}
	if !strings.EqualFold(resp[0].Role, "assistant") {
		return "", "", fmt.Errorf("conversational response must start with an assistant turn, got role %q", resp[0].Role)
	}
	p := RenderConversation(prompt) + AssistantMarker
	r := " " + resp[0].Content + RenderConversation(resp[1:])
	return p, r, nil
}

// value is one JSON field that may be a string or a conversation.
type value struct {
	present bool
	conv    bool
	text    string
	msgs    []Message
}

func decodeValue(raw json.RawMessage) (value, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return value{}, nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return value{}, err
		}
		return value{present: true, text: s}, nil
	case '[':
		var msgs []Message
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return value{}, fmt.Errorf("conversation: %w", err)
		}
		return value{present: true, conv: true, msgs: msgs}, nil
	}
	return value{}, errors.New("want a string or a list of {role, content} messages")
}

// SplitImplicitPrompt splits two full texts that share a prompt into the
// prompt and the two responses, so that prompt + chosenResp == chosen and
// prompt + rejectedResp == rejected:
//
//   - If their longest common prefix contains AssistantMarker
//     ("\n\nAssistant:"), the prompt is everything up to and including the
//     last such marker (HH-RLHF dialogues: the prompt is the dialogue up to the
//     last assistant turn the two share, the responses start with " ...").
//   - Otherwise the prompt ends at the last word boundary within the common
//     prefix that leaves both responses non-empty: a position where both texts
//     continue with whitespace, so each response starts with its separating
//     space (" mat" / " mouse") the way a GPT-2 style tokenizer attaches it.
//     If there is none the prompt is empty.
//
// Identical texts are an error.
func SplitImplicitPrompt(chosen, rejected string) (prompt, chosenResp, rejectedResp string, err error) {
	if chosen == rejected {
		return "", "", "", errors.New("chosen and rejected are identical")
	}
	n := 0
	for n < len(chosen) && n < len(rejected) && chosen[n] == rejected[n] {
		n++
	}
	lcp := chosen[:n]
	cut := 0
	if j := strings.LastIndex(lcp, AssistantMarker); j >= 0 {
		cut = j + len(AssistantMarker)
	} else {
		for i := n; i > 0; i-- {
			if i < len(chosen) && i < len(rejected) && isSpaceByte(chosen[i]) && isSpaceByte(rejected[i]) {
				cut = i
				break
			}
		}
	}
	return chosen[:cut], chosen[cut:], rejected[cut:], nil
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r'
}

// trlRecord is one JSONL record of a preference or prompt/completion file.
type trlRecord struct {
	ID         *int            `json:"id"`
	Prompt     json.RawMessage `json:"prompt"`
	Chosen     json.RawMessage `json:"chosen"`
	Rejected   json.RawMessage `json:"rejected"`
	Completion json.RawMessage `json:"completion"`
	Flipped    *bool           `json:"flipped"`
}

// ReadTRL reads TRL-style preference JSONL, one JSON object a line; name is
// used in errors and in Pair.Source. Accepted records:
//
//   - explicit prompt: {"prompt": P, "chosen": C, "rejected": R}; the texts
//     are used verbatim (the model sees P+C and P+R).
//   - implicit prompt: {"chosen": C, "rejected": R} where both are full texts
//     sharing a prefix (HH-RLHF); split by [SplitImplicitPrompt].
//   - conversational values: lists of {"role", "content"} messages instead of
//     strings. They are rendered by [RenderConversation]; an explicit
//     conversational prompt gets AssistantMarker appended and its responses
//     must start with an assistant turn, rendered as " " + content (+ any
//     further turns), so prompt + response is the rendered dialogue.
//     Implicit conversational records are rendered whole and then split as
//     text, which gives the same result.
//
// Optional fields: "id" (an integer, used as Pair.ID instead of the record
// number) and "flipped" (true marks a pair whose label was flipped by
// corruption; chosen is still the label's choice). Unknown fields (such as
// "gold_chosen") are ignored. Blank lines are counted and ignored.
func ReadTRL(r io.Reader, name string, opt LoadOptions) ([]Pair, LoadStats, error) {
	return readJSONL(r, name, opt, parsePair, func(p *Pair, rec int, hasID bool, src string) {
		if !hasID {
			p.ID = rec
		}
		p.Source = src
	})
}

// readJSONL reads one record a line with parse, numbering records from 0
// (blank lines are counted, not numbered) and calling set with the ID (the
// record's number, whether parse found an explicit id, and its source
// "name:line". Malformed lines fail, or are counted and skipped as opt says.
func readJSONL[T any](r io.Reader, name string, opt LoadOptions, parse func(string) (T, bool, error), set func(v *T, rec int, hasID bool, src string)) ([]T, LoadStats, error) {
	var (
		out []T
		st  LoadStats
	)
	lr := newLineReader(r)
	for rec := 0; ; rec++ {
		line, ln, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, st, fmt.Errorf("%s:%d: %w", name, ln+1, err)
		}
		if strings.TrimSpace(line) == "" {
			st.Blank++
			rec--
			continue
		}
		src := fmt.Sprintf("%s:%d", name, ln)
		v, hasID, err := parse(line)
		if err != nil {
			if err := st.skip(opt, fmt.Errorf("%s: %w", src, err)); err != nil {
				return nil, st, err
			}
			continue
		}
		set(&v, rec, hasID, src)
		out = append(out, v)
	}
	st.Records = len(out)
	if len(out) == 0 {
		return nil, st, fmt.Errorf("%s: %w", name, ErrNoRecords)
	}
	return out, st, nil
}

// parsePair parses one JSONL preference record; hasID reports that the
// record gave an explicit "id" (stored in Pair.ID).
func parsePair(line string) (p Pair, hasID bool, err error) {
	var rec trlRecord
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		return Pair{}, false, fmt.Errorf("invalid JSON: %w", err)
	}
	prompt, err := decodeValue(rec.Prompt)
	if err != nil {
		return Pair{}, false, fmt.Errorf("field \"prompt\": %w", err)
	}
	chosen, err := decodeValue(rec.Chosen)
	if err != nil {
		return Pair{}, false, fmt.Errorf("field \"chosen\": %w", err)
	}
	rejected, err := decodeValue(rec.Rejected)
	if err != nil {
		return Pair{}, false, fmt.Errorf("field \"rejected\": %w", err)
	}
	if !chosen.present {
		return Pair{}, false, errors.New("missing field \"chosen\"")
	}
	if !rejected.present {
		return Pair{}, false, errors.New("missing field \"rejected\"")
	}
	if chosen.conv != rejected.conv {
		return Pair{}, false, errors.New("\"chosen\" and \"rejected\" must both be text or both be conversations")
	}
	switch {
	case prompt.present:
		if prompt.conv != chosen.conv {
			return Pair{}, false, errors.New("\"prompt\" and the responses must all be text or all be conversations")
		}
		if prompt.conv {
			if p.Prompt, p.Chosen, err = renderPromptResponse(prompt.msgs, chosen.msgs); err != nil {
				return Pair{}, false, fmt.Errorf("field \"chosen\": %w", err)
			}
			if _, p.Rejected, err = renderPromptResponse(prompt.msgs, rejected.msgs); err != nil {
				return Pair{}, false, fmt.Errorf("field \"rejected\": %w", err)
			}
		} else {
			p.Prompt, p.Chosen, p.Rejected = prompt.text, chosen.text, rejected.text
		}
		if p.Chosen == p.Rejected {
			return Pair{}, false, errors.New("chosen and rejected are identical")
		}
	default:
		c, r := chosen.text, rejected.text
		if chosen.conv {
			c, r = RenderConversation(chosen.msgs), RenderConversation(rejected.msgs)
		}
		if p.Prompt, p.Chosen, p.Rejected, err = SplitImplicitPrompt(c, r); err != nil {
			return Pair{}, false, err
		}
	}
	if rec.Flipped != nil {
		p.Flipped = *rec.Flipped
	}
	if rec.ID != nil {
		if *rec.ID < 0 {
			return Pair{}, false, fmt.Errorf("field \"id\": negative id %d", *rec.ID)
		}
		p.ID, hasID = *rec.ID, true
	}
	return p, hasID, nil
}

// ReadExamples reads prompt/completion JSONL (TRL's prompt-completion
// format), one object a line: {"prompt": P, "completion": C} for SFT data or
// {"prompt": P} for prompt lists. Values may be strings or conversations
// (rendered as in [ReadTRL]: a conversational prompt gets AssistantMarker
// appended, a conversational completion must start with an assistant turn).
// An optional integer "id" replaces the record number as Example.ID.
func ReadExamples(r io.Reader, name string, opt LoadOptions) ([]Example, LoadStats, error) {
	return readJSONL(r, name, opt, parseExample, func(ex *Example, rec int, hasID bool, src string) {
		if !hasID {
			ex.ID = rec
		}
		ex.Source = src
	})
}

func parseExample(line string) (ex Example, hasID bool, err error) {
	var rec trlRecord
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		return Example{}, false, fmt.Errorf("invalid JSON: %w", err)
	}
	prompt, err := decodeValue(rec.Prompt)
	if err != nil {
		return Example{}, false, fmt.Errorf("field \"prompt\": %w", err)
	}
	comp, err := decodeValue(rec.Completion)
	if err != nil {
		return Example{}, false, fmt.Errorf("field \"completion\": %w", err)
	}
	if !prompt.present {
		return Example{}, false, errors.New("missing field \"prompt\"")
	}
	switch {
	case prompt.conv && comp.present:
		if !comp.conv {
			return Example{}, false, errors.New("\"prompt\" and \"completion\" must both be text or both be conversations")
		}
		if ex.Prompt, ex.Response, err = renderPromptResponse(prompt.msgs, comp.msgs); err != nil {
			return Example{}, false, fmt.Errorf("field \"completion\": %w", err)
		}
	case prompt.conv:
		ex.Prompt = RenderConversation(prompt.msgs) + AssistantMarker
	default:
		if comp.conv {
			return Example{}, false, errors.New("\"prompt\" and \"completion\" must both be text or both be conversations")
		}
		ex.Prompt, ex.Response = prompt.text, comp.text
	}
	if rec.ID != nil {
		if *rec.ID < 0 {
			return Example{}, false, fmt.Errorf("field \"id\": negative id %d", *rec.ID)
		}
		ex.ID, hasID = *rec.ID, true
	}
	return ex, hasID, nil
}
