package scorer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/warm-rm/warm/chat"
)

// Record is one thing to score, in one of four forms: a whole text, a
// prompt and its response, a conversation (chat messages, scored through
// the checkpoint's chat template), or token ids.
type Record struct {
	// Source is "file:line" for records read from a file.
	Source string
	// Text is {"text": ...}.
	Text *string
	// Prompt and Response are {"prompt": ..., "response": ...}.
	Prompt, Response *string
	// Messages is {"messages": [...]} (TRL's conversational format), or a
	// conversational prompt and response ({"prompt": [...], "response":
	// [...]}) joined.
	Messages []chat.Message
	// InputIDs is {"input_ids": [...]}: scored as given.
	InputIDs []int32
}

// ParseRecord reads one JSON object. Keys other than the four forms' are
// ignored (records often carry ids); exactly one form must be present.
func ParseRecord(line []byte, source string) (Record, error) {
	r := Record{Source: source}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		return r, fmt.Errorf("%s: not a JSON object: %w", source, err)
	}
	forms := 0
	if raw, ok := m["text"]; ok {
		forms++
		if err := json.Unmarshal(raw, &r.Text); err != nil || r.Text == nil {
			return r, fmt.Errorf("%s: field text: want a string", source)
		}
	}
	if raw, ok := m["input_ids"]; ok {
		forms++
		var ids []int64
		if err := json.Unmarshal(raw, &ids); err != nil {
			return r, fmt.Errorf("%s: field input_ids: want a list of token ids: %w", source, err)
		}
		for i, id := range ids {
			if id < 0 || id > math.MaxInt32 {
				return r, fmt.Errorf("%s: field input_ids[%d]: token id %d out of range", source, i, id)
			}
			r.InputIDs = append(r.InputIDs, int32(id))
		}
	}
	if raw, ok := m["messages"]; ok {
		forms++
		msgs, err := chat.ParseMessages(raw)
		if err != nil {
			return r, fmt.Errorf("%s: field messages: %w", source, err)
		}
		r.Messages = msgs
	}
	praw, hasP := m["prompt"]
	rraw, hasR := m["response"]
	if hasP || hasR {
		forms++
		if !hasP || !hasR {
			return r, fmt.Errorf("%s: a record with prompt needs response, and the reverse", source)
		}
		var ps, rs string
		var pl, rl []json.RawMessage
		switch {
		case json.Unmarshal(praw, &ps) == nil && json.Unmarshal(rraw, &rs) == nil:
			r.Prompt, r.Response = &ps, &rs
		case json.Unmarshal(praw, &pl) == nil && json.Unmarshal(rraw, &rl) == nil:
			pm, err := chat.ParseMessages(praw)
			if err != nil {
				return r, fmt.Errorf("%s: field prompt: %w", source, err)
			}
			rm, err := chat.ParseMessages(rraw)
			if err != nil {
				return r, fmt.Errorf("%s: field response: %w", source, err)
			}
			r.Messages = append(pm, rm...)
		default:
			return r, fmt.Errorf("%s: fields prompt and response: want two strings or two lists of messages", source)
		}
	}
	switch forms {
	case 0:
		return r, fmt.Errorf("%s: no field to score: want text, prompt and response, messages, or input_ids", source)
	case 1:
		return r, nil
	}
	return r, fmt.Errorf("%s: more than one of text, prompt/response, messages and input_ids: which one to score is ambiguous", source)
}

// ReadRecords reads a JSONL file of records ("-" is standard input).
// Blank lines are skipped; any bad line is an error naming it.
func ReadRecords(path string) ([]Record, error) {
	var in io.Reader = os.Stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("reading records: %w", err)
		}
		defer f.Close()
		in, name = f, path
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var out []Record
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		r, err := ParseRecord(b, fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return out, nil
}

// Encode returns the token ids of a record, checked against the model:
// ids inside the vocabulary, at most the model's positions.
func (s *Scorer) Encode(r Record) ([]int32, error) {
	ids, err := s.Tokens(r)
	if err != nil {
		return nil, err
	}
	if n := s.Model.MaxLen(); len(ids) > n {
		return nil, fmt.Errorf("%s: %d tokens, more than the model's %d positions (max_position_embeddings)", r.Source, len(ids), n)
	}
	return ids, nil
}

// Tokens is Encode without the length check (for a caller with its own
// truncation policy).
func (s *Scorer) Tokens(r Record) ([]int32, error) {
	var ids []int32
	var err error
	switch {
	case r.InputIDs != nil:
		ids = r.InputIDs
	case r.Text != nil:
		ids, err = s.EncodeText(*r.Text)
	case r.Prompt != nil:
		ids, err = s.EncodePair(*r.Prompt, *r.Response)
	case r.Messages != nil:
		ids, err = s.EncodeMessages(r.Messages)
	default:
		err = fmt.Errorf("empty record")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Source, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no tokens to score", r.Source)
	}
	for i, id := range ids {
		if int(id) >= s.Model.VocabSize() {
			return nil, fmt.Errorf("%s: token id %d at position %d is outside the model's vocabulary [0, %d)", r.Source, id, i, s.Model.VocabSize())
		}
	}
	return ids, nil
}

// Score returns the reward of every record, in order, in batches of batch
// records. Every record is encoded (and checked) before any is scored.
func (s *Scorer) Score(ctx context.Context, records []Record, batch int) ([]float32, error) {
	seqs := make([][]int32, len(records))
	for i, r := range records {
		ids, err := s.Encode(r)
		if err != nil {
			return nil, err
		}
		seqs[i] = ids
	}
	return s.Rewards(ctx, seqs, batch)
}
