package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// splitAddedNaive is the matcher splitAdded replaced: every token searched
// for in turn (leftmost first, the longest at equal positions). It is the
// reference of TestSplitAddedMatchesNaive and the baseline of
// BenchmarkSplitAdded.
func splitAddedNaive(text string, toks []matchTok, plain func(string, int), special func(int)) {
	if len(toks) == 0 {
		if text != "" {
			plain(text, 0)
		}
		return
	}
	next := make([]int, len(toks))
	for k, at := range toks {
		next[k] = strings.Index(text, at.content)
	}
	pos := 0
	for {
		best := -1
		for k, at := range toks {
			if next[k] >= 0 && next[k] < pos {
				if i := strings.Index(text[pos:], at.content); i >= 0 {
					next[k] = pos + i
				} else {
					next[k] = -1
				}
			}
			if next[k] < 0 {
				continue
			}
			if best < 0 || next[k] < next[best] || (next[k] == next[best] && len(at.content) > len(toks[best].content)) {
				best = k
			}
		}
		if best < 0 {
			if pos < len(text) {
				plain(text[pos:], pos)
			}
			return
		}
		if next[best] > pos {
			plain(text[pos:next[best]], pos)
		}
		special(toks[best].id)
		pos = next[best] + len(toks[best].content)
	}
}

// cuts records what a splitter calls, in order.
func cuts(split func(plain func(string, int), special func(int))) string {
	var b strings.Builder
	split(func(s string, off int) { fmt.Fprintf(&b, "[%d:%q]", off, s) }, func(id int) { fmt.Fprintf(&b, "<%d>", id) })
	return b.String()
}

// TestSplitAddedMatchesNaive: on random texts over a small alphabet, with
// tokens that are prefixes of each other, overlap, repeat and share
// contents, the trie cuts exactly where the token-by-token search did.
func TestSplitAddedMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab<|>é"[rng.IntN(6)]
		}
		return string(b)
	}
	for trial := 0; trial < 2000; trial++ {
		var toks []matchTok
		for k := range 1 + rng.IntN(6) {
			toks = append(toks, matchTok{word(1 + rng.IntN(4)), 100 + k})
		}
		if trial%7 == 0 {
			toks = append(toks, matchTok{toks[0].content, 999}) // same content twice: the first wins
		}
		text := word(rng.IntN(40))
		m := newAddedMatcher(toks)
		got := cuts(func(p func(string, int), s func(int)) { splitAdded(text, m, p, s) })
		want := cuts(func(p func(string, int), s func(int)) { splitAddedNaive(text, toks, p, s) })
		if got != want {
			t.Fatalf("text %q tokens %v:\n trie  %s\n naive %s", text, toks, got, want)
		}
	}
	if got := cuts(func(p func(string, int), s func(int)) { splitAdded("abc", newAddedMatcher(nil), p, s) }); got != `[0:"abc"]` {
		t.Errorf("no tokens: %s", got)
	}
	if got := cuts(func(p func(string, int), s func(int)) { splitAdded("", newAddedMatcher(nil), p, s) }); got != "" {
		t.Errorf("empty text: %s", got)
	}
}

// llama3Special are Llama-3's 256 special tokens in its layout.
func llama3Special() []matchTok {
	toks := []matchTok{{"<|begin_of_text|>", 128000}, {"<|end_of_text|>", 128001}, {"<|start_header_id|>", 128006},
		{"<|end_header_id|>", 128007}, {"<|eot_id|>", 128009}, {"<|python_tag|>", 128010}}
	for k := len(toks); k < 256; k++ {
		toks = append(toks, matchTok{fmt.Sprintf("<|reserved_special_token_%d|>", k), 128000 + k})
	}
	return toks
}

// BenchmarkSplitAdded cuts Llama-3's 256 special tokens out of a 2 KB chat
// turn: "trie" is splitAdded, "naive" the token-by-token search it
// replaced, in one invocation (go test ./tokenizer -bench SplitAdded).
func BenchmarkSplitAdded(b *testing.B) {
	toks := llama3Special()
	text := "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n" +
		strings.Repeat("Is it wrong to mow my neighbour's lawn <without> asking | first? ", 30) +
		"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
	m := newAddedMatcher(toks)
	nop := func(string, int) {}
	sp := func(int) {}
	b.Run("trie", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			splitAdded(text, m, nop, sp)
		}
	})
	b.Run("naive", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		for range b.N {
			splitAddedNaive(text, toks, nop, sp)
		}
	})
}
