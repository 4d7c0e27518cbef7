package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Message is one turn of a conversation in TRL's conversational format,
// {"role": ..., "content": ...}, with every other key of the turn kept:
// templates read reasoning_content (Qwen3), tool_calls and tool_call_id
// (Qwen2.5, Llama-3.1, Mistral v0.3), and may read keys no one foresaw.
//
// Values other than Role are generic JSON values, as ParseMessages decodes
// them: nil (null), bool, string, json.Number, []any and *Object (an object
// that keeps its key order, since templates print objects with tojson).
// Render also accepts int, int64, float64, []string and map[string]any
// (whose keys it sorts) built in Go.
type Message struct {
	// Role is "system", "user", "assistant", "tool" or whatever the data
	// says; templates decide what they accept.
	Role string
	// Content is the turn's text (a string), a list of parts
	// ([{"type": "text", "text": ...}], newer datasets) or Null{} for
	// "content": null. A nil Content means the turn has no "content" key
	// at all, which a template can tell from null ("content is defined").
	Content any
	// Extra holds every other key of the turn, in the order read. It may
	// be nil.
	Extra *Object

	// order is the order of all keys as read by ParseMessages (role and
	// content included), so that the dict a template sees iterates as
	// Python's would. Keys set later go after it.
	order []string
}

// Null is JSON null where a Go nil would mean "absent": Message.Content is
// Null{} when the turn says "content": null (OpenAI-style tool-call turns).
type Null struct{}

// MarshalJSON encodes Null as null.
func (Null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// keys returns the message's keys in the order a template sees them.
func (m *Message) keys() []string {
	want := func(k string) bool {
		switch k {
		case "role":
			return true
		case "content":
			return m.Content != nil
		}
		_, ok := m.Extra.Get(k)
		return ok
	}
	out := make([]string, 0, 2+m.Extra.Len())
	for _, k := range m.order {
		if want(k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	for _, k := range append([]string{"role", "content"}, m.Extra.Keys()...) {
		if want(k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// Get returns the value of one key of the message ("role", "content" or
// an extra key) and whether the message has it.
func (m *Message) Get(key string) (any, bool) {
	switch key {
	case "role":
		return m.Role, true
	case "content":
		return m.Content, m.Content != nil
	}
	return m.Extra.Get(key)
}

// MarshalJSON encodes the message as one JSON object, keys in the order
// read.
func (m Message) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		v, _ := m.Get(k)
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("message key %q: %w", k, err)
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes one turn. "role" must be a string; every other key
// is kept as a generic value.
func (m *Message) UnmarshalJSON(data []byte) error {
	obj, err := decodeObject(data, "a {\"role\", \"content\"} object")
	if err != nil {
		return err
	}
	msg, err := messageFromObject(obj)
	if err != nil {
		return err
	}
	*m = msg
	return nil
}

func messageFromObject(obj *Object) (Message, error) {
	rv, ok := obj.Get("role")
	if !ok {
		return Message{}, errors.New(`no "role"`)
	}
	role, ok := rv.(string)
	if !ok {
		return Message{}, fmt.Errorf(`"role" must be a string, got %s`, jsonKind(rv))
	}
	m := Message{Role: role, order: obj.Keys()}
	for _, k := range obj.Keys() {
		v, _ := obj.Get(k)
		switch k {
		case "role":
		case "content":
			if v == nil {
				v = Null{}
			}
			m.Content = v
		default:
			if m.Extra == nil {
				m.Extra = NewObject()
			}
			m.Extra.Set(k, v)
		}
	}
	return m, nil
}

// ParseMessages decodes a JSON list of turns in TRL's conversational format
// (a "messages", "prompt", "chosen" or "rejected" value). Every key of every
// turn is kept, in order; a turn must be an object with a string "role".
// Errors name the turn by its index.
func ParseMessages(raw json.RawMessage) ([]Message, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("messages: trailing data after the list")
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("messages: want a list of {\"role\", \"content\"} objects, got %s", jsonKind(v))
	}
	out := make([]Message, len(list))
	for i, item := range list {
		obj, ok := item.(*Object)
		if !ok {
			return nil, fmt.Errorf("messages[%d]: want a {\"role\", \"content\"} object, got %s", i, jsonKind(item))
		}
		m, err := messageFromObject(obj)
		if err != nil {
			return nil, fmt.Errorf("messages[%d]: %w", i, err)
		}
		out[i] = m
	}
	return out, nil
}

// Object is a JSON object that keeps its keys in the order they were read
// or set, as a Python dict does. The zero value is not usable; a nil
// *Object reads as empty.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty Object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Set sets key to v; a new key goes last.
func (o *Object) Set(key string, v any) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Get returns the value of key and whether it is set.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Keys returns the keys in order.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return slices.Clone(o.keys)
}

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// MarshalJSON encodes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a JSON object, keeping key order; nested values are
// generic (see Message).
func (o *Object) UnmarshalJSON(data []byte) error {
	obj, err := decodeObject(data, "an object")
	if err != nil {
		return err
	}
	*o = *obj
	return nil
}

// decodeObject decodes data as one JSON object, keeping key order; want
// says what was expected in the error for any other value.
func decodeObject(data []byte, want string) (*Object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*Object)
	if !ok {
		return nil, fmt.Errorf("want %s, got %s", want, jsonKind(v))
	}
	return obj, nil
}

// ParseValue decodes any JSON value into the generic form Render takes
// (objects as *Object, in order; numbers as json.Number): use it for tools
// and documents.
func ParseValue(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// decodeValue reads one JSON value from dec (which must UseNumber),
// objects as *Object in key order. A repeated key keeps its first position
// and its last value, as Python's json.load does.
func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := NewObject()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %v, not a string", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				obj.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return obj, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil // nil, bool, string, json.Number
	}
}

// jsonKind names the JSON type of a generic value, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil, Null:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, int, int64, float64:
		return "a number"
	case []any:
		return "a list"
	case *Object, map[string]any:
		return "an object"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*")
}
