package tokenizer

import (
	"unicode/utf8"
)

// byteToRune is GPT-2's bytes_to_unicode table: every byte maps to a printable
// code point, so that byte-level tokens are readable strings in vocab and
// merges ("Ġ" is the space byte 0x20). Printable Latin-1 bytes map to
// themselves; the other 68 bytes map to U+0100.. in byte order.
var byteToRune [256]rune

// runeToByte inverts byteToRune. Code points outside the table are absent.
var runeToByte = make(map[rune]byte, 256)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// byteLevelString maps raw bytes to their byte-level token string.
func byteLevelString(bs []byte) string {
	buf := make([]byte, 0, 2*len(bs))
	for _, b := range bs {
		buf = utf8.AppendRune(buf, byteToRune[b])
	}
	return string(buf)
}

// byteLevelDecode returns the bytes a token string stands for, by the rule of
// Hugging Face's ByteLevel decoder: if every character of the token is in the
// bytes_to_unicode table the token decodes to those bytes, otherwise (an added
// token such as "<pad token>" with a character outside the table) to its own
// UTF-8 bytes.
func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}

// isByteLevel reports whether every character of tok is in the
// bytes_to_unicode table (so tok is a proper byte-level token).
func isByteLevel(tok string) bool {
	if tok == "" {
		return false
	}
	for _, r := range tok {
		if _, ok := runeToByte[r]; !ok {
			return false
		}
	}
	return true
}

// appendLossyUTF8 appends b to dst as valid UTF-8, replacing each maximal
// ill-formed subsequence by one U+FFFD, exactly as Rust's
// String::from_utf8_lossy does (which is what Hugging Face's ByteLevel decoder
// applies to the decoded bytes). This is the Unicode "substitution of maximal
// subparts" practice; Go's utf8 decoder alone would replace byte by byte.
func appendLossyUTF8(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			dst = append(dst, b[i:i+size]...)
			i += size
			continue
		}
		dst = append(dst, "\uFFFD"...)
		i += maximalSubpart(b[i:])
	}
	return dst
}

// maximalSubpart returns the length (>= 1) of the longest prefix of b that
// starts an ill-formed sequence and is itself a prefix of some well-formed
// UTF-8 sequence (Unicode Table 3-7 ranges).
func maximalSubpart(b []byte) int {
	lo, hi := byte(0x80), byte(0xBF)
	need := 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c >= 0xE1 && c <= 0xEC, c == 0xEE, c == 0xEF:
		need = 2
	case c == 0xED:
		need, hi = 2, 0x9F
	case c == 0xF0:
		need, lo = 3, 0x90
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}
