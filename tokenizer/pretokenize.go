package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// Character classes of GPT-2's pre-tokenizer regex.
const (
	clsOther  = iota // [^\s\p{L}\p{N}], and invalid UTF-8 bytes
	clsLetter        // \p{L}
	clsNumber        // \p{N}
	clsSpace         // \s (Unicode White_Space, as Oniguruma and Go's unicode.IsSpace)
)

// asciiClass is the class of each ASCII byte.
var asciiClass [utf8.RuneSelf]uint8

func init() {
	for b := 0; b < utf8.RuneSelf; b++ {
		asciiClass[b] = runeClass(rune(b))
	}
}

func runeClass(r rune) uint8 {
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

// classAt returns the class and byte width of the character at s[i]. A byte
// that does not start valid UTF-8 is one character of class other, so that
// any byte string splits losslessly.
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		return clsOther, 1
	}
	return runeClass(r), size
}

// runEnd returns the end of the maximal run of characters of class c that
// starts at s[i].
func runEnd(s string, i int, c uint8) int {
	for i < len(s) {
		ci, size := classAt(s, i)
		if ci != c {
			break
		}
		i += size
	}
	return i
}

// contraction returns the length of the contraction suffix ("s", "t", "re",
// "ve", "m", "ll", "d") at the start of s, which follows an apostrophe, or 0.
// fold matches ASCII letters case-insensitively, as the (?i:...) group of
// Llama3Pattern does ("'S", "'Re", "'LL"); GPT-2's pattern is
// case-sensitive.
func contraction(s string, fold bool) int {
	if len(s) == 0 {
		return 0
	}
	at := func(k int) byte {
		c := s[k]
		if fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch at(0) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) > 1 && at(1) == 'e' {
			return 2
		}
	case 'l':
		if len(s) > 1 && at(1) == 'l' {
			return 2
		}
	}
	return 0
}

// splitPieces calls fn with each pre-token of s, in order. The pieces are
// substrings of s and concatenate to exactly s. The split is the one GPT-2's
// regex
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// makes, written out by hand because Go's regexp has no lookahead. At each
// position the alternatives are tried in order:
//   - an ASCII apostrophe followed by s, t, re, ve, m, ll or d (case-sensitive);
//   - otherwise an optional single U+0020 space followed by a maximal run of
//     letters, of numbers, or of "other" characters (not space, letter or
//     number), the class being that of the first character after the space;
//   - otherwise a whitespace run: all of it at the end of the text, all but its
//     last character when it is longer than one character and followed by
//     non-space (the (?!\S) lookahead backtracks one character, which then
//     becomes the leading space of the next piece), and the single character
//     otherwise.
//
// Invalid UTF-8 bytes (which Hugging Face never sees, since Rust strings are
// valid UTF-8) count as "other" characters, one byte each.
func splitPieces(s string, fn func(string)) {
	for i := 0; i < len(s); {
		if s[i] == '\'' {
			if n := contraction(s[i+1:], false); n > 0 {
				fn(s[i : i+1+n])
				i += 1 + n
				continue
			}
		}
		c, size := classAt(s, i)
		start, j := i, i
		if s[i] == ' ' && i+1 < len(s) {
			if c2, size2 := classAt(s, i+1); c2 != clsSpace {
				c, size, j = c2, size2, i+1
			}
		}
		if c != clsSpace {
			k := runEnd(s, j+size, c)
			fn(s[start:k])
			i = k
			continue
		}
		// Whitespace run starting at i; last is the start of its last character.
		k, last := i+size, i
		for k < len(s) {
			ck, sk := classAt(s, k)
			if ck != clsSpace {
				break
			}
			last = k
			k += sk
		}
		if k == len(s) || last == i {
			fn(s[i:k])
			i = k
		} else {
			fn(s[i:last])
			i = last
		}
	}
}

// PreTokenize splits text into GPT-2 pre-tokens (Hugging Face ByteLevel with
// add_prefix_space=false, use_regex=true), before any byte-level mapping. The
// pieces concatenate to text. Special tokens are not recognised here; see
// Tokenizer.Encode.
func PreTokenize(text string) []string {
	var out []string
	splitPieces(text, func(p string) { out = append(out, p) })
	return out
}
