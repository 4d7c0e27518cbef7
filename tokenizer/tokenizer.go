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
// single_word false). A Normalized one is matched, as Hugging Face does, in
// the normalized text by its normalized content (so under Llama-2's Prepend
// normalizer "</s>" matches only as "▁</s>"); the others are cut out of the
// raw text first.
type AddedToken struct {
	ID         int
	Content    string
	Special    bool
	Normalized bool
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
	added     []AddedToken  // sorted by id
	rawAdded  *addedMatcher // added tokens matched in the raw text (not Normalized)
	normAdded *addedMatcher // Normalized added tokens, by their normalized content
	eos       int
	pad       int
	norm      normalizer // nil: none
	pre       preKind    // pre-tokenizer regex (byte-level BPE)
	spm       *spm       // non-nil for a SentencePiece-style BPE (see spm.go)
	ignoreMrg bool       // model.ignore_merges: a piece in the vocabulary is one token
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
	preTekken                // Split(TekkenPattern) then ByteLevel
)

// split calls fn with each pre-token of s, by t's pre-tokenizer.
func (t *Tokenizer) split(s string, fn func(string)) {
	switch t.pre {
	case preLlama3:
		splitLlama3(s, 3, fn)
	case preQwen2:
		splitLlama3(s, 1, fn)
	case preTekken:
		splitTekken(s, fn)
	default:
		splitPieces(s, fn)
	}
}

// newTokenizer checks a vocabulary (index = id), its merges (token strings, in
// rank order) and added tokens, and builds the lookup tables. With sp nil it
// is a byte-level BPE (all 256 byte-level tokens must exist); otherwise a
// SentencePiece-style one whose model vocabulary is vocab[:sp.nModel] (merges
// must lie in it). Errors name the offending entry; callers add the file
// name.
func newTokenizer(vocab []string, merges [][2]string, added []AddedToken, nz normalizer, sp *spm) (*Tokenizer, error) {
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
		norm:   nz,
		spm:    sp,
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
		if sp == nil {
			t.dec[id] = byteLevelDecode(tok)
		} else {
			t.dec[id] = []byte(tokenPiece(sp.dec, tok))
		}
	}
	if sp == nil {
		for b := 0; b < 256; b++ {
			s := string(byteToRune[b])
			id, ok := t.ids[s]
			if !ok {
				return nil, fmt.Errorf("byte 0x%02x (token %q) is not in the vocabulary: byte-level BPE needs all 256 byte tokens", b, s)
			}
			t.byteID[b] = id
		}
	} else {
		for b := 0; b < 256; b++ {
			sp.byteTok[b] = -1
			if id, ok := t.modelID(byteTokenName(byte(b))); ok {
				sp.byteTok[b] = id
			}
		}
	}
	inModel := func(s string) (int32, bool) {
		if sp != nil {
			return t.modelID(s)
		}
		id, ok := t.ids[s]
		return id, ok
	}
	t.merges = make([][2]int32, len(merges))
	for rank, m := range merges {
		a, okA := inModel(m[0])
		b, okB := inModel(m[1])
		switch {
		case !okA:
			return nil, fmt.Errorf("merge %d (%q %q): part %q is not in the vocabulary", rank, m[0], m[1], m[0])
		case !okB:
			return nil, fmt.Errorf("merge %d (%q %q): part %q is not in the vocabulary", rank, m[0], m[1], m[1])
		}
		c, ok := inModel(m[0] + m[1])
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
	var raw, norm []matchTok
	for _, at := range t.added {
		if !at.Normalized {
			raw = append(raw, matchTok{at.Content, at.ID})
			continue
		}
		c := nz.apply(at.Content)
		if c == "" {
			return nil, fmt.Errorf("added token %q: its normalized content is empty", at.Content)
		}
		norm = append(norm, matchTok{c, at.ID})
	}
	t.rawAdded, t.normAdded = newAddedMatcher(raw), newAddedMatcher(norm)
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

// TokenToID returns the id of a token string as the vocabulary spells it, and
// whether it exists: byte-level form for a byte-level BPE ("Ġthe" for
// " the"), SentencePiece form for Llama-2, Mistral and Gemma ("▁the",
// "<0x0A>"), and an added token by its content ("<s>", "</s>",
// "<start_of_turn>"). Callers that know which strings are a model's BOS, EOS
// or pad token (from its tokenizer_config.json or chat template) get their
// ids here; EOS and Pad know only warm's own names.
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
// exists. For a SentencePiece-style tokenizer it is what the token stands for
// in the middle of a text ("▁the" is " the", "<0x0A>" is "\n"); the decoder
// may treat the first token differently. The slice must not be modified.
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

// Encode returns the token ids of text, as Hugging Face's
// tokenizer.encode(text, add_special_tokens=False). Occurrences of an added
// token's content (such as "<|endoftext|>" or "<s>") are split out first and
// encoded as that token's id; each text segment between them is normalized
// (if the file has a normalizer), Normalized added tokens are split out of
// it, and each remaining piece is pre-tokenized (see PreTokenize) and
// BPE-encoded. Any byte string is accepted, including invalid UTF-8; for a
// byte-level BPE without a normalizer Decode(Encode(text)) == text. Use
// EncodeOrdinary for text in which special strings must stay plain text.
func (t *Tokenizer) Encode(text string) []int {
	return t.encode(nil, text, true, t.appendWordShared)
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
	return t.encode(nil, text, false, t.appendWordShared)
}

// encode appends the ids of text to dst, matching added tokens if added, and
// encodes each pre-token with word (which caches).
func (t *Tokenizer) encode(dst []int, text string, added bool, word func([]int, string) []int) []int {
	pretok := func(p string, atStart bool) {
		if t.spm != nil {
			t.spm.pre.words(p, atStart, func(w string) { dst = word(dst, w) })
		} else {
			t.split(p, func(w string) { dst = word(dst, w) })
		}
	}
	special := func(id int) { dst = append(dst, id) }
	plain := func(seg string, atStart bool) {
		if t.norm != nil {
			seg = t.norm.apply(seg)
		}
		if !added || t.normAdded.empty() {
			if seg != "" {
				pretok(seg, atStart)
			}
			return
		}
		splitAdded(seg, t.normAdded, func(p string, off int) { pretok(p, atStart && off == 0) }, special)
	}
	if !added {
		plain(text, true)
		return dst
	}
	splitAdded(text, t.rawAdded, func(seg string, off int) { plain(seg, off == 0) }, special)
	return dst
}

// matchTok is an added token as splitAdded looks for it.
type matchTok struct {
	content string
	id      int
}

// addedMatcher finds added tokens in a text: a byte trie of their contents,
// so that cutting them out costs one pass over the text whatever their
// number (Llama-3 has 256 special tokens, Gemma's files hundreds), where
// searching for each token in turn cost (tokens × text length).
type addedMatcher struct {
	first [256]bool // bytes a token starts with
	nodes []trieNode
}

type trieNode struct {
	edges []trieEdge // sorted by byte
	id    int        // the token ending here, or -1
}

type trieEdge struct {
	b  byte
	to int32
}

// newAddedMatcher builds the matcher of toks; of two tokens with the same
// content the first is kept.
func newAddedMatcher(toks []matchTok) *addedMatcher {
	m := &addedMatcher{nodes: []trieNode{{id: -1}}}
	for _, t := range toks {
		if t.content == "" {
			continue
		}
		m.first[t.content[0]] = true
		n := 0
		for i := 0; i < len(t.content); i++ {
			n = m.child(n, t.content[i], true)
		}
		if m.nodes[n].id < 0 {
			m.nodes[n].id = t.id
		}
	}
	return m
}

// child returns the node under n by byte b (-1 if none and !add).
func (m *addedMatcher) child(n int, b byte, add bool) int {
	e := m.nodes[n].edges
	i, found := slices.BinarySearchFunc(e, b, func(x trieEdge, b byte) int { return int(x.b) - int(b) })
	if found {
		return int(e[i].to)
	}
	if !add {
		return -1
	}
	to := len(m.nodes)
	m.nodes = append(m.nodes, trieNode{id: -1})
	e = append(e, trieEdge{})
	copy(e[i+1:], e[i:])
	e[i] = trieEdge{b, int32(to)}
	m.nodes[n].edges = e
	return to
}

// empty reports whether there is no token to find.
func (m *addedMatcher) empty() bool { return m == nil || len(m.nodes) == 1 }

// longestAt returns the longest token starting at text[pos:] (length 0 if
// none).
func (m *addedMatcher) longestAt(text string, pos int) (id, length int) {
	n := 0
	for i := pos; i < len(text); i++ {
		if n = m.child(n, text[i], false); n < 0 {
			break
		}
		if m.nodes[n].id >= 0 {
			id, length = m.nodes[n].id, i+1-pos
		}
	}
	return id, length
}

// splitAdded cuts text at occurrences of m's tokens (leftmost first, the
// longest at equal positions, as Hugging Face's leftmost-longest matcher)
// and calls plain with each non-empty text segment and its offset, and
// special with each match.
func splitAdded(text string, m *addedMatcher, plain func(string, int), special func(int)) {
	start := 0
	if !m.empty() {
		for pos := 0; pos < len(text); {
			if !m.first[text[pos]] {
				pos++
				continue
			}
			id, n := m.longestAt(text, pos)
			if n == 0 {
				pos++
				continue
			}
			if pos > start {
				plain(text[start:pos], start)
			}
			special(id)
			pos += n
			start = pos
		}
	}
	if start < len(text) {
		plain(text[start:], start)
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
	out := e.t.encode(make([]int, 0, len(text)/3+1), text, true, e.appendWord)
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
// until no pair has a merge (mergeAll). A SentencePiece-style tokenizer
// starts from characters instead (bpeSPM).
//
// With model.ignore_merges (Llama-3), a pre-token that is itself in the
// vocabulary is that one token, whatever the merges would make of it.
func (t *Tokenizer) bpe(w string) []int32 {
	if t.spm != nil {
		return t.bpeSPM(w)
	}
	n := len(w)
	if t.ignoreMrg && n > 1 {
		if id, ok := t.ids[byteLevelString([]byte(w))]; ok {
			return []int32{id}
		}
	}
	ids := make([]int32, n)
	for i := 0; i < n; i++ {
		ids[i] = t.byteID[w[i]]
	}
	return t.mergeAll(ids)
}

// mergeAll applies the merges to a word's symbols: the adjacent pair with
// the lowest merge rank is merged (the leftmost among equal ranks) until no
// pair has a merge. A heap keeps this O(n log n) in the word length, the same
// procedure as Hugging Face's Word::merge_all (and so GPT-2's). The result
// reuses ids' storage.
func (t *Tokenizer) mergeAll(ids []int32) []int32 {
	n := len(ids)
	if n < 2 {
		return ids
	}
	type sym struct{ id, prev, next int32 }
	syms := make([]sym, n)
	for i, id := range ids {
		syms[i] = sym{id, int32(i - 1), int32(i + 1)}
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
	out := ids[:0]
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	return slices.Clip(out)
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

// Decode returns the bytes that ids stand for, exactly. For a byte-level BPE
// without a normalizer Decode(Encode(s)) == s for every string s, including
// invalid UTF-8 (a Go string holds any bytes); added tokens decode to their
// content. Hugging Face's decoder instead returns valid UTF-8; DecodeUTF8 does
// the same. A SentencePiece-style tokenizer decodes with its file's decoder
// chain (the "▁" become spaces, a leading space may be stripped, so the text
// need not come back), with byte tokens as raw bytes even where they are not
// valid UTF-8. An id outside the vocabulary is an error naming it.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	if t.spm != nil {
		return t.decodeSPM(ids, false)
	}
	b, err := t.decodeBytes(ids)
	return string(b), err
}

// DecodeUTF8 decodes as Hugging Face's tokenizer.decode(ids,
// skip_special_tokens=False) does. For a byte-level BPE that is the bytes of
// the tokens with each maximal ill-formed UTF-8 subsequence replaced by U+FFFD
// (Rust's String::from_utf8_lossy, as its ByteLevel decoder); for a
// SentencePiece-style one, the decoder chain with Rust's ByteFallback rule (a
// run of byte tokens that is not valid UTF-8 is one U+FFFD per token). The
// result is always valid UTF-8, and equals Decode's whenever that is valid
// UTF-8.
func (t *Tokenizer) DecodeUTF8(ids []int) (string, error) {
	if t.spm != nil {
		return t.decodeSPM(ids, true)
	}
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
