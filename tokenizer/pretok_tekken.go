package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// TekkenPattern is the pre-tokenizer regex of Mistral's Tekken tokenizer
// (Mistral-Nemo, Pixtral, Ministral): GPT-4o's pattern without the
// contractions, with single digits. A word is an optional prefix
// character, upper-case letters, then lower-case ones, so a word ends where
// lower case turns to upper ("getX" is "get", "X"; "HTMLParser" stays
// whole); marks (\p{M}) and letters without case (Lm, Lo) go with either.
const TekkenPattern = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Character classes of TekkenPattern.
const (
	tkOther  = iota // [^\s\p{L}\p{N}\p{M}], and invalid UTF-8 bytes
	tkUpper         // Lu, Lt: the first letter class only
	tkLower         // Ll: the second letter class only
	tkBoth          // Lm, Lo: in both letter classes
	tkMark          // M: in both letter classes, and neither a letter nor a number
	tkNumber        // \p{N}
	tkSpace         // \s
)

// tekkenClassAt returns the TekkenPattern class and byte width of the
// character at s[i] (a byte that does not start valid UTF-8: other).
func tekkenClassAt(s string, i int) (uint8, int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch asciiClass[c] {
		case clsLetter:
			if c <= 'Z' {
				return tkUpper, 1
			}
			return tkLower, 1
		case clsNumber:
			return tkNumber, 1
		case clsSpace:
			return tkSpace, 1
		}
		return tkOther, 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 {
		return tkOther, 1
	}
	switch runeClass(r) {
	case clsLetter:
		switch {
		case unicode.Is(unicode.Lu, r), unicode.Is(unicode.Lt, r):
			return tkUpper, size
		case unicode.Is(unicode.Ll, r):
			return tkLower, size
		}
		return tkBoth, size
	case clsNumber:
		return tkNumber, size
	case clsSpace:
		return tkSpace, size
	}
	if unicode.Is(unicode.M, r) {
		return tkMark, size
	}
	return tkOther, size
}

func tkFirst(c uint8) bool  { return c == tkUpper || c == tkBoth || c == tkMark }
func tkSecond(c uint8) bool { return c == tkLower || c == tkBoth || c == tkMark }

// tkPunct reports the class [^\s\p{L}\p{N}]: other characters and marks.
func tkPunct(c uint8) bool { return c == tkOther || c == tkMark }

// tkPrefix reports whether the character at s[i] of class c may be the
// optional [^\r\n\p{L}\p{N}] before letters.
func tkPrefix(s string, i int, c uint8) bool {
	return c == tkOther || c == tkMark || (c == tkSpace && !isCRLF(s[i]))
}

// tekkenLetters matches the letter part of TekkenPattern's first
// alternative, [first]*[second]+, at s[p:] as a backtracking regex engine
// does, and returns its end, or -1. The greedy [first]* takes the maximal
// run; if a second-class-only letter follows, [second]+ takes the maximal
// run from there; otherwise [first]* gives back characters up to the last
// one of the run that is in both classes, which [second]+ then takes alone.
func tekkenLetters(s string, p int) int {
	q, lastBoth := p, -1
	for q < len(s) {
		c, size := tekkenClassAt(s, q)
		if !tkFirst(c) {
			break
		}
		if tkSecond(c) {
			lastBoth = q + size
		}
		q += size
	}
	if q < len(s) {
		if c, _ := tekkenClassAt(s, q); c == tkLower {
			return tekkenRun(s, q, tkSecond)
		}
	}
	return lastBoth
}

// tekkenCased matches the second alternative's letter part,
// [first]+[second]*, at s[p:]: its end, or -1.
func tekkenCased(s string, p int) int {
	q := tekkenRun(s, p, tkFirst)
	if q == p {
		return -1
	}
	return tekkenRun(s, q, tkSecond)
}

// tekkenRun returns the end of the maximal run of characters from s[i]
// whose class satisfies in.
func tekkenRun(s string, i int, in func(uint8) bool) int {
	for i < len(s) {
		c, size := tekkenClassAt(s, i)
		if !in(c) {
			break
		}
		i += size
	}
	return i
}

// splitTekken splits s as TekkenPattern does, written out by hand because
// Go's regexp has no lookahead. At each position the alternatives are
// tried in order, each with and then without its optional prefix
// character: the letters of tekkenLetters; those of tekkenCased; one
// number; an optional U+0020 space, a maximal run of characters that are
// not space, letter or number (marks included) and then any CR, LF and
// '/'; and whitespace as splitLlama3 splits it. The pieces are substrings
// of s and concatenate to s.
func splitTekken(s string, fn func(string)) {
	for i := 0; i < len(s); {
		c, size := tekkenClassAt(s, i)
		pre := tkPrefix(s, i, c) && i+size < len(s)
		end := -1
		if pre {
			end = tekkenLetters(s, i+size)
		}
		if end < 0 {
			end = tekkenLetters(s, i)
		}
		if end < 0 && pre {
			end = tekkenCased(s, i+size)
		}
		if end < 0 {
			end = tekkenCased(s, i)
		}
		if end < 0 && c == tkNumber {
			end = i + size
		}
		if end < 0 {
			j := i
			if s[i] == ' ' && i+1 < len(s) {
				if c2, _ := tekkenClassAt(s, i+1); tkPunct(c2) {
					j = i + 1
				}
			}
			if cj, _ := tekkenClassAt(s, j); tkPunct(cj) {
				end = tekkenRun(s, j, tkPunct)
				for end < len(s) && (isCRLF(s[end]) || s[end] == '/') {
					end++
				}
			}
		}
		if end < 0 {
			end = spaceRun(s, i)
		}
		fn(s[i:end])
		i = end
	}
}
