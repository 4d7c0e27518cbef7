package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPreTokenizeCases checks hand-written splits of the GPT-2 regex.
func TestPreTokenizeCases(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Hello world", []string{"Hello", " world"}},
		// Two spaces before a word: the first stands alone, the second leads the word.
		{"a  b", []string{"a", " ", " b"}},
		{"a   b", []string{"a", "  ", " b"}},
		// Trailing whitespace stays one piece.
		{"a  ", []string{"a", "  "}},
		{"end \n", []string{"end", " \n"}},
		// A newline is not a prefix: only U+0020 joins the next word.
		{"a\nb", []string{"a", "\n", "b"}},
		{"a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"a \n b", []string{"a", " \n", " b"}},
		{"\t\ta", []string{"\t", "\t", "a"}},
		// Contractions, case-sensitive, apostrophe first.
		{"don't", []string{"don", "'t"}},
		{"you'll I'm we've they're he'd", []string{"you", "'ll", " I", "'m", " we", "'ve", " they", "'re", " he", "'d"}},
		{"'S 'LL", []string{"'", "S", " '", "LL"}},
		{"''s", []string{"''", "s"}},
		{" 's", []string{" '", "s"}},
		{"'sup", []string{"'s", "up"}},
		// Digits and letters are separate runs; a space leads either.
		{"abc123 456", []string{"abc", "123", " 456"}},
		{"3,000.50", []string{"3", ",", "000", ".", "50"}},
		// Unicode letters and numbers.
		{"café naïve 日本語", []string{"café", " naïve", " 日本語"}},
		{"x² ½ ١٢٣", []string{"x", "²", " ½", " ١٢٣"}},
		// A combining mark is not a letter.
		{"cafe\u0301", []string{"cafe", "\u0301"}},
		// Punctuation runs, with an optional leading space.
		{"wow!!! ... ?", []string{"wow", "!!!", " ...", " ?"}},
		{"<|endoftext|>", []string{"<|", "endoftext", "|>"}},
		// No-break space is whitespace; it does not lead a word like U+0020 does.
		{"a\u00a0b", []string{"a", "\u00a0", "b"}},
		{"a \u00a0b", []string{"a", " ", "\u00a0", "b"}},
		// Invalid UTF-8 bytes are "other" characters.
		{"a\xff\xfeb \x80", []string{"a", "\xff\xfe", "b", " \x80"}},
	}
	for _, c := range cases {
		if got := PreTokenize(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("PreTokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestPreTokenizeGolden compares with splits made by GPT-2's regex run by
// Python's regex module (testdata/gen_pretokenize.py).
func TestPreTokenizeGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/pretokenize_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Text   string   `json:"text"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 400 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	for _, c := range cases {
		got := PreTokenize(c.Text)
		if len(got) == 0 && len(c.Pieces) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.Pieces) {
			t.Errorf("PreTokenize(%q) = %q, regex gives %q", c.Text, got, c.Pieces)
		}
	}
}

// TestPreTokenizeLossless: pieces of random byte strings are non-empty and
// concatenate to the input.
func TestPreTokenizeLossless(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{" ", "  ", "\n", "\t", "a", "Z", "é", "日", "1", "'", "s", "ll", "!", "😀", "\u00a0", "\xff", "\xe2\x82", "\x00"}
	for i := 0; i < 2000; i++ {
		var sb strings.Builder
		for n := rng.IntN(20); n > 0; n-- {
			if rng.IntN(4) == 0 {
				sb.WriteByte(byte(rng.IntN(256)))
			} else {
				sb.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
		}
		s := sb.String()
		pieces := PreTokenize(s)
		for _, p := range pieces {
			if p == "" {
				t.Fatalf("PreTokenize(%q) has an empty piece: %q", s, pieces)
			}
		}
		if got := strings.Join(pieces, ""); got != s {
			t.Fatalf("PreTokenize(%q) joins to %q", s, got)
		}
	}
}

func TestByteToUnicodeTable(t *testing.T) {
	seen := map[rune]bool{}
	for b := 0; b < 256; b++ {
		r := byteToRune[b]
		if seen[r] || !utf8.ValidRune(r) {
			t.Fatalf("byte %d maps to %U, a duplicate or invalid", b, r)
		}
		seen[r] = true
	}
	// Values known from GPT-2's vocabulary.
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', '\t': 'ĉ', 'a': 'a', 0: 'Ā', 0x7f: 'ġ', 0xad: 'Ń', 0xa1: '¡', 0xff: 'ÿ'} {
		if byteToRune[b] != want {
			t.Errorf("byte 0x%02x maps to %q, want %q", b, byteToRune[b], want)
		}
	}
}

func TestLossyUTF8MatchesRust(t *testing.T) {
	// Expected values are what Rust's String::from_utf8_lossy returns.
	cases := map[string]string{
		"plain":             "plain",
		"\xe2\x82A":         "\uFFFDA",
		"\xff\xfe":          "\uFFFD\uFFFD",
		"\xf0\x9f\x98":      "\uFFFD",
		"\xf0\x9f\x98\x80":  "😀",
		"\xed\xa0\x80":      "\uFFFD\uFFFD\uFFFD", // surrogate: ED's second byte must be 80..9F
		"\xe0\x80\x80":      "\uFFFD\uFFFD\uFFFD", // overlong: E0's second byte must be A0..BF
		"\xc0\xaf":          "\uFFFD\uFFFD",
		"a\xf4\x90\x80\x80": "a\uFFFD\uFFFD\uFFFD\uFFFD",
		"\xf1\x80\x80z":     "\uFFFDz",
	}
	for in, want := range cases {
		if got := string(appendLossyUTF8(nil, []byte(in))); got != want {
			t.Errorf("lossy(%q) = %q, want %q", in, got, want)
		}
	}
}
