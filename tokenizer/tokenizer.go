package tokenizer

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Special token strings of warm's tokenizers.
const (
	// EOSToken separates documents; it is also the beginning-of-sequence token.
	EOSToken = "<|endoftext|>"
	// PadToken pads batches. It differs from EOSToken because a reward model
	// reads the hidden state of the last non-pad token.
	PadToken = "<|pad|>"
)

// Fixed ids of the tokens in a tokenizer trained by Train. Ids 0..255 are the
// single bytes (id b is byte b), the special tokens follow, and merged tokens
// take ids from FirstMergeID on, in merge order. A tokenizer loaded from a file
// keeps that file's ids; ask EOS and Pad rather than assume these.
const (
	TrainedEOSID = 256
	TrainedPadID = 257
	FirstMergeID = 258
)

// AddedToken is a token that Encode matches literally in the input text before
// pre-tokenization, like a Hugging Face "added token" (lstrip, rstrip and
// single_word false).
type AddedToken struct {
	ID      int
	Content string
	Special bool
}

// mergeInfo is the rank of a merge and the id of the token it makes.
type mergeInfo struct{ rank, id int32 }

// pairKey packs a pair of token ids into a map key.
func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Word caches (the shared one and each EncodeBatch worker's) hold at most
// maxCacheEntries pre-tokens of at most maxCachedLen bytes; longer pieces are
// rare, rarely repeated, and would let odd input grow the cache.
const (
	maxCacheEntries = 1 << 18
	maxCachedLen    = 64
)

// Tokenizer is a byte-level BPE tokenizer. It is immutable after Train or
// Load and safe for concurrent use.
type Tokenizer struct {
	tokens    []string         // id -> token string (byte-level string, or added token content)
	ids       map[string]int32 // token string -> id
	dec       [][]byte         // id -> bytes it decodes to
	byteID    [256]int32       // byte -> id of its single-byte token
	merges    [][2]int32       // merges in rank order
	ranks     map[uint64]mergeInfo
	added     []AddedToken // sorted by id
	eos       int
	pad       int
	pre       preKind // pre-tokenizer regex
	ignoreMrg bool    // model.ignore_merges: a piece in the vocabulary is one token
	tmpl      *template
	cache     sync.Map // word -> []int32, shared by Encode callers
	cacheN    atomic.Int64
	canonic   []byte // canonical tokenizer.json, computed once
	canonOnce sync.Once
}

// preKind names the pre-tokenizer regex a tokenizer splits text with.
type preKind uint8

const (
	preGPT2   preKind = iota // ByteLevel use_regex: GPT-2's pattern (splitPieces)
	preLlama3                // Split(Llama3Pattern) then ByteLevel
	preQwen2                 // Split(Qwen2Pattern) then ByteLevel
)

// split calls fn with each pre-token of s, by t's pre-tokenizer.
func (t *Tokenizer) split(s string, fn func(string)) {
	switch t.pre {
	case preLlama3:
		splitLlama3(s, 3, fn)
	case preQwen2:
		splitLlama3(s, 1, fn)
	default:
		splitPieces(s, fn)
	}
}

// newTokenizer checks a vocabulary (index = id), its merges (token strings, in
// rank order) and added tokens, and builds the lookup tables. Errors name the
// offending entry; callers add the file name.
func newTokenizer(vocab []string, merges [][2]string, added []AddedToken) (*Tokenizer, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	if len(vocab) > 1<<30 {
		return nil, fmt.Errorf("vocabulary too large (%d tokens)", len(vocab))
	}
	t := &Tokenizer{
		tokens: vocab,
		ids:    make(map[string]int32, len(vocab)),
		dec:    make([][]byte, len(vocab)),
		ranks:  make(map[uint64]mergeInfo, len(merges)),
		eos:    -1,
		pad:    -1,
	}
	for id, tok := range vocab {
		if tok == "" {
			return nil, fmt.Errorf("token id %d is empty", id)
		}
		if !utf8.ValidString(tok) {
			return nil, fmt.Errorf("token id %d (%q) is not valid UTF-8", id, tok)
		}
		if prev, dup := t.ids[tok]; dup {
			return nil, fmt.Errorf("token %q has two ids, %d and %d", tok, prev, id)
		}
		t.ids[tok] = int32(id)
		t.dec[id] = byteLevelDecode(tok)
	}
	for b := 0; b < 256; b++ {
		s := string(byteToRune[b])
		id, ok := t.ids[s]
		if !ok {
			return nil, fmt.Errorf("byte 0x%02x (token %q) is not in the vocabulary: byte-level BPE needs all 256 byte tokens", b, s)
		}
		t.byteID[b] = id
	}
	t.merges = make([][2]int32, len(merges))
	for rank, m := range merges {
		a, okA := t.ids[m[0]]
		b, okB := t.ids[m[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("merge %d (%q %q): part %q is not in the vocabulary", rank, m[0], m[1], m[0])
		case !okB:
			return nil, fmt.Errorf("merge %d (%q %q): part %q is not in the vocabulary", rank, m[0], m[1], m[1])
		}
		c, ok := t.ids[m[0]+m[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d (%q %q): merged token %q is not in the vocabulary", rank, m[0], m[1], m[0]+m[1])
		}
		k := pairKey(a, b)
		if prev, dup := t.ranks[k]; dup {
			return nil, fmt.Errorf("merge %d (%q %q) repeats merge %d", rank, m[0], m[1], prev.rank)
		}
		t.ranks[k] = mergeInfo{rank: int32(rank), id: c}
		t.merges[rank] = [2]int32{a, b}
	}
	t.added = make([]AddedToken, 0, len(added))
	seen := make(map[int]bool, len(added))
	for _, at := range added {
		if at.ID < 0 || at.ID >= len(vocab) {
			return nil, fmt.Errorf("added token %q: id %d outside the vocabulary [0, %d)", at.Content, at.ID, len(vocab))
		}
		if vocab[at.ID] != at.Content {
			return nil, fmt.Errorf("added token %q: id %d is already token %q", at.Content, at.ID, vocab[at.ID])
		}
		if seen[at.ID] {
			return nil, fmt.Errorf("added token %q (id %d) listed twice", at.Content, at.ID)
		}
		seen[at.ID] = true
		t.added = append(t.added, at)
	}
	slices.SortFunc(t.added, func(x, y AddedToken) int { return x.ID - y.ID })
	if id, ok := t.ids[EOSToken]; ok {
		t.eos = int(id)
	}
	if id, ok := t.ids[PadToken]; ok {
		t.pad = int(id)
	}
	return t, nil
}

// VocabSize is the number of token ids: every id in [0, VocabSize) is a token.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// EOS is the id of "<|endoftext|>", or -1 if the vocabulary has none.
func (t *Tokenizer) EOS() int { return t.eos }

// Pad is the id of "<|pad|>", or -1 if the vocabulary has none (GPT-2's own
// tokenizer has no pad token).
func (t *Tokenizer) Pad() int { return t.pad }

// TokenToID returns the id of a token string (in byte-level form, e.g. "Ġthe"
// for " the"), and whether it exists.
func (t *Tokenizer) TokenToID(tok string) (int, bool) {
	id, ok := t.ids[tok]
	return int(id), ok
}

// IDToToken returns the token string of an id, and whether the id exists.
func (t *Tokenizer) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) {
		return "", false
	}
	return t.tokens[id], true
}

// TokenBytes returns the bytes that token id decodes to, and whether the id
// exists. The slice must not be modified.
func (t *Tokenizer) TokenBytes(id int) ([]byte, bool) {
	if id < 0 || id >= len(t.tokens) {
		return nil, false
	}
	return t.dec[id], true
}

// Merges returns the merges in rank order, as pairs of token strings.
func (t *Tokenizer) Merges() [][2]string {
	out := make([][2]string, len(t.merges))
	for i, m := range t.merges {
		out[i] = [2]string{t.tokens[m[0]], t.tokens[m[1]]}
	}
	return out
}

// AddedTokens returns the added (special) tokens, sorted by id.
func (t *Tokenizer) AddedTokens() []AddedToken {
	return append([]AddedToken(nil), t.added...)
}

// Encode returns the token ids of text. Like Hugging Face, occurrences of an
// added token's content (such as "<|endoftext|>") are split out first and
// encoded as that token's id; the text between them is pre-tokenized (see
// PreTokenize) and each piece is BPE-encoded from its bytes. Any byte string is
// accepted, including invalid UTF-8, and Decode(Encode(text)) == text. Use
// EncodeOrdinary for text in which special strings must stay plain text.
func (t *Tokenizer) Encode(text string) []int {
	var out []int
	t.forSegments(text, func(seg string) {
		t.split(seg, func(p string) { out = t.appendWordShared(out, p) })
	}, func(id int) { out = append(out, id) })
	return out
}

// EncodeWithSpecial is Encode followed by the file's post-processor: the
// tokens of a TemplateProcessing "single" template (such as Llama's BOS,
// "<s>" or "<|begin_of_text|>") are put around the ids. It is Hugging Face's
// tokenizer(text) with add_special_tokens=True, while Encode is
// add_special_tokens=False; for a tokenizer without a template (GPT-2's, and
// those Train makes) the two agree.
func (t *Tokenizer) EncodeWithSpecial(text string) []int {
	ids := t.Encode(text)
	if t.tmpl == nil {
		return ids
	}
	out := make([]int, 0, len(t.tmpl.prefix)+len(ids)+len(t.tmpl.suffix))
	out = append(out, t.tmpl.prefix...)
	out = append(out, ids...)
	return append(out, t.tmpl.suffix...)
}

// SpecialTokensAround returns the ids EncodeWithSpecial puts before and after
// a text's ids (both empty without a TemplateProcessing post-processor). The
// slices are copies.
func (t *Tokenizer) SpecialTokensAround() (prefix, suffix []int) {
	if t.tmpl == nil {
		return nil, nil
	}
	return slices.Clone(t.tmpl.prefix), slices.Clone(t.tmpl.suffix)
}

// EncodeOrdinary is Encode without matching added tokens: "<|endoftext|>" in
// the text is encoded as its characters. Use it for untrusted text.
func (t *Tokenizer) EncodeOrdinary(text string) []int {
	var out []int
	t.split(text, func(p string) { out = t.appendWordShared(out, p) })
	return out
}

// forSegments cuts text at occurrences of added tokens (leftmost first, the
// longest at equal positions, as Hugging Face's leftmost-longest matcher) and
// calls plain for each non-empty text segment and special for each match.
func (t *Tokenizer) forSegments(text string, plain func(string), special func(int)) {
	if len(t.added) == 0 {
		if text != "" {
			plain(text)
		}
		return
	}
	// next[k] is the next occurrence of added token k at or after pos, or -1.
	next := make([]int, len(t.added))
	for k, at := range t.added {
		next[k] = strings.Index(text, at.Content)
	}
	pos := 0
	for {
		best := -1
		for k, at := range t.added {
			if next[k] >= 0 && next[k] < pos {
				if i := strings.Index(text[pos:], at.Content); i >= 0 {
					next[k] = pos + i
				} else {
					next[k] = -1
				}
			}
			if next[k] < 0 {
				continue
			}
			if best < 0 || next[k] < next[best] || (next[k] == next[best] && len(at.Content) > len(t.added[best].Content)) {
				best = k
			}
		}
		if best < 0 {
			if pos < len(text) {
				plain(text[pos:])
			}
			return
		}
		if next[best] > pos {
			plain(text[pos:next[best]])
		}
		special(t.added[best].ID)
		pos = next[best] + len(t.added[best].Content)
	}
}

// appendWordShared appends the ids of one pre-token, through the shared cache.
func (t *Tokenizer) appendWordShared(dst []int, w string) []int {
	if v, ok := t.cache.Load(w); ok {
		return appendIDs(dst, v.([]int32))
	}
	ids := t.bpe(w)
	if len(w) <= maxCachedLen && t.cacheN.Load() < maxCacheEntries {
		if _, loaded := t.cache.LoadOrStore(strings.Clone(w), ids); !loaded {
			t.cacheN.Add(1)
		}
	}
	return appendIDs(dst, ids)
}

func appendIDs(dst []int, ids []int32) []int {
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst
}

// encoder encodes with a private, lock-free word cache; one per goroutine.
type encoder struct {
	t     *Tokenizer
	cache map[string][]int32
}

func (e *encoder) appendWord(dst []int, w string) []int {
	if ids, ok := e.cache[w]; ok {
		return appendIDs(dst, ids)
	}
	ids := e.t.bpe(w)
	if len(w) <= maxCachedLen && len(e.cache) < maxCacheEntries {
		e.cache[strings.Clone(w)] = ids
	}
	return appendIDs(dst, ids)
}

func (e *encoder) encode(text string) []int {
	out := make([]int, 0, len(text)/3+1)
	e.t.forSegments(text, func(seg string) {
		e.t.split(seg, func(p string) { out = e.appendWord(out, p) })
	}, func(id int) { out = append(out, id) })
	if len(out) == 0 {
		return nil // as Encode
	}
	return out
}

// EncodeBatch encodes texts in parallel (GOMAXPROCS workers, each with its
// own word cache) and returns one id slice per text, as Encode would. It stops
// early with ctx's error when ctx is cancelled.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string) ([][]int, error) {
	out := make([][]int, len(texts))
	const chunk = 256
	var next atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), (len(texts)+chunk-1)/chunk)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &encoder{t: t, cache: make(map[string][]int32)}
			for ctx.Err() == nil {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(texts) {
					return
				}
				for i := lo; i < min(lo+chunk, len(texts)); i++ {
					out[i] = e.encode(texts[i])
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return out, nil
}

// bpe encodes one pre-token: its bytes become byte tokens, then the adjacent
// pair with the lowest merge rank is merged (the leftmost among equal ranks)
// until no pair has a merge. A heap keeps this O(n log n) in the piece length,
// the same procedure as Hugging Face's BPE (and so GPT-2's).
//
// With model.ignore_merges (Llama-3), a pre-token that is itself in the
// vocabulary is that one token, whatever the merges would make of it.
func (t *Tokenizer) bpe(w string) []int32 {
	n := len(w)
	if t.ignoreMrg && n > 1 {
		if id, ok := t.ids[byteLevelString([]byte(w))]; ok {
			return []int32{id}
		}
	}
	if n == 1 {
		return []int32{t.byteID[w[0]]}
	}
	type sym struct{ id, prev, next int32 }
	syms := make([]sym, n)
	for i := 0; i < n; i++ {
		syms[i] = sym{t.byteID[w[i]], int32(i - 1), int32(i + 1)}
	}
	syms[n-1].next = -1
	h := candHeap(make([]cand, 0, n))
	for i := 0; i+1 < n; i++ {
		if m, ok := t.ranks[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = append(h, cand{m.rank, int32(i), m.id})
		}
	}
	h.init()
	for len(h) > 0 {
		c := h.pop()
		s := &syms[c.pos]
		if s.id < 0 || s.next < 0 {
			continue
		}
		r := &syms[s.next]
		if m, ok := t.ranks[pairKey(s.id, r.id)]; !ok || m.rank != c.rank {
			continue // stale: one side was merged since this candidate was pushed
		}
		s.id = c.id
		s.next = r.next
		r.id = -1
		if s.next >= 0 {
			syms[s.next].prev = c.pos
			if m, ok := t.ranks[pairKey(s.id, syms[s.next].id)]; ok {
				h.push(cand{m.rank, c.pos, m.id})
			}
		}
		if s.prev >= 0 {
			if m, ok := t.ranks[pairKey(syms[s.prev].id, s.id)]; ok {
				h.push(cand{m.rank, s.prev, m.id})
			}
		}
	}
	out := make([]int32, 0, 4)
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	return out
}

// cand is a possible merge at a symbol position of a word being encoded.
type cand struct{ rank, pos, id int32 }

// candHeap is a min-heap of candidates by (rank, pos).
type candHeap []cand

func (h candHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h candHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h candHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func (h *candHeap) push(c cand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() cand {
	s := *h
	c := s[0]
	s[0] = s[len(s)-1]
	*h = s[:len(s)-1]
	h.down(0)
	return c
}

// Decode returns the bytes that ids stand for, exactly: Decode(Encode(s)) == s
// for every string s, including invalid UTF-8 (a Go string holds any bytes).
// Added tokens decode to their content. Hugging Face's decoder instead returns
// valid UTF-8; DecodeUTF8 does the same. An id outside the vocabulary is an
// error naming it.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	b, err := t.decodeBytes(ids)
	return string(b), err
}

// DecodeUTF8 decodes like Hugging Face's ByteLevel decoder: the bytes of the
// tokens, with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD
// (Rust's String::from_utf8_lossy). The result is always valid UTF-8, and
// equals Decode's whenever that is valid UTF-8.
func (t *Tokenizer) DecodeUTF8(ids []int) (string, error) {
	b, err := t.decodeBytes(ids)
	if err != nil {
		return "", err
	}
	if utf8.Valid(b) {
		return string(b), nil
	}
	return string(appendLossyUTF8(make([]byte, 0, len(b)+8), b)), nil
}

func (t *Tokenizer) decodeBytes(ids []int) ([]byte, error) {
	n := 0
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			return nil, fmt.Errorf("decode: id %d at position %d outside the vocabulary [0, %d)", id, i, len(t.tokens))
		}
		n += len(t.dec[id])
	}
	out := make([]byte, 0, n)
	for _, id := range ids {
		out = append(out, t.dec[id]...)
	}
	return out, nil
}
