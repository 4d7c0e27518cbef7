package tokenizer

// Pre-tokenizer regexes of the byte-level BPE tokenizers that ship a
// pre_tokenizer Sequence [Split(Regex, "Isolated"), ByteLevel(use_regex false)].
// Parse recognises these exact pattern strings; any other is an error.
const (
	// Llama3Pattern is Llama-3's pre-tokenizer regex (digits in runs of 1 to 3).
	Llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen2Pattern is Qwen2's pre-tokenizer regex: Llama-3's with single digits.
	Qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// isCRLF reports whether b is '\r' or '\n'.
func isCRLF(b byte) bool { return b == '\r' || b == '\n' }

// splitLlama3 splits s as Llama3Pattern does (maxDigits 3) or as
// Qwen2Pattern does (maxDigits 1), written out by hand because Go's regexp
// has no lookahead. At each position the alternatives are tried in order:
//   - an ASCII apostrophe and s, t, re, ve, m, ll or d, in either case;
//   - one optional character that is not CR, LF, a letter or a number,
//     followed by a maximal run of letters;
//   - 1 to maxDigits numbers;
//   - an optional U+0020 space, a maximal run of "other" characters (not
//     space, letter or number) and then any CR and LF characters;
//   - a whitespace run holding CR or LF: up to and including its last CR or
//     LF (\s*[\r\n]+ backtracks to there);
//   - otherwise a whitespace run as in GPT-2's pattern: all of it at the end of
//     the text, all but its last character when it is longer than one
//     character and followed by non-space, and the single character otherwise.
//
// The pieces are substrings of s and concatenate to s. Invalid UTF-8 bytes
// count as "other" characters, one byte each.
func splitLlama3(s string, maxDigits int, fn func(string)) {
	for i := 0; i < len(s); {
		if s[i] == '\'' {
			if n := contraction(s[i+1:], true); n > 0 {
				fn(s[i : i+1+n])
				i += 1 + n
				continue
			}
		}
		c, size := classAt(s, i)
		if c == clsLetter {
			k := runEnd(s, i, clsLetter)
			fn(s[i:k])
			i = k
			continue
		}
		if c != clsNumber && !isCRLF(s[i]) && i+size < len(s) {
			if c2, _ := classAt(s, i+size); c2 == clsLetter {
				k := runEnd(s, i+size, clsLetter)
				fn(s[i:k])
				i = k
				continue
			}
		}
		if c == clsNumber {
			k := i + size
			for n := 1; n < maxDigits && k < len(s); n++ {
				ck, sk := classAt(s, k)
				if ck != clsNumber {
					break
				}
				k += sk
			}
			fn(s[i:k])
			i = k
			continue
		}
		j := i
		if s[i] == ' ' && i+1 < len(s) {
			if c2, _ := classAt(s, i+1); c2 == clsOther {
				j = i + 1
			}
		}
		if cj, _ := classAt(s, j); cj == clsOther {
			k := runEnd(s, j, clsOther)
			for k < len(s) && isCRLF(s[k]) {
				k++
			}
			fn(s[i:k])
			i = k
			continue
		}
		k := spaceRun(s, i)
		fn(s[i:k])
		i = k
	}
}

// spaceRun returns the end of the piece that \s*[\r\n]+|\s+(?!\S)|\s+
// matches at s[i], a whitespace character: up to and including the last CR
// or LF of the whitespace run from i when it holds one; else all of the
// run at the end of the text, all but its last character when it is longer
// than one character and followed by non-space, and the single character
// otherwise.
func spaceRun(s string, i int) int {
	// last is the start of the run's last character, nl the end of its
	// last CR or LF (0 if none).
	k, last, nl := i, i, 0
	for k < len(s) {
		ck, sk := classAt(s, k)
		if ck != clsSpace {
			break
		}
		if isCRLF(s[k]) {
			nl = k + 1
		}
		last = k
		k += sk
	}
	switch {
	case nl > 0:
		return nl
	case k == len(s) || last == i:
		return k
	}
	return last
}
