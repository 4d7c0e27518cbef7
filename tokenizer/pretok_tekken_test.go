package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSplitTekkenCases checks pre-tokens of TekkenPattern, worked out by
// hand and confirmed with JavaScript's RegExp (flag u) on the same pattern:
// case changes, marks with and without case around them, digits one at a
// time, and the '/' after punctuation.
func TestSplitTekkenCases(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"HTMLParser getX of URLs", []string{"HTMLParser", " get", "X", " of", " URLs"}},
		{"I'm OK", []string{"I", "'m", " OK"}},
		{"12345", []string{"1", "2", "3", "4", "5"}},
		{"Ça va?", []string{"Ça", " va", "?"}},
		{"e\u0301te\u0301", []string{"e\u0301te\u0301"}},
		{"!\u0301a", []string{"!\u0301a"}},
		{"x!!\n/y", []string{"x", "!!\n/", "y"}},
		{"A\u0301B", []string{"A\u0301", "B"}}, // [first]* gives back to the mark
		{"ÀBc", []string{"ÀBc"}},
		{"東京タワー", []string{"東京タワー"}},
		{"a  b", []string{"a", " ", " b"}},
		{" !!\n\nx", []string{" !!\n\n", "x"}},
		{"hi\t\n there", []string{"hi", "\t\n", " there"}},
		{"ǅungla", []string{"ǅungla"}}, // title case is upper
		{"ʰa", []string{"ʰa"}},         // a modifier letter is in both classes
		{"..Hello", []string{"..", "Hello"}},
		{"\xff\xfeab", []string{"\xff\xfe", "ab"}}, // invalid bytes are "other"
		{"\xffab", []string{"\xffab"}},
	} {
		var got []string
		splitTekken(c.in, func(p string) { got = append(got, p) })
		if !slices.Equal(got, c.want) {
			t.Errorf("splitTekken(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTekkenTokenizerJSON loads a byte-level tokenizer whose Split pattern
// is TekkenPattern (the Llama-3 fixture with its pattern swapped), checks
// that it splits at case changes and survives a CanonicalJSON round trip.
func TestTekkenTokenizerJSON(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "llama3_bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	swapped := strings.Replace(string(raw), quote(Llama3Pattern), quote(TekkenPattern), 1)
	if swapped == string(raw) {
		t.Fatal("the fixture does not hold Llama3Pattern")
	}
	tk, err := Parse([]byte(swapped))
	if err != nil {
		t.Fatal(err)
	}
	if tk.pre != preTekken {
		t.Fatalf("pre-tokenizer kind %d, want Tekken", tk.pre)
	}
	back, err := Parse(tk.CanonicalJSON())
	if err != nil {
		t.Fatalf("parse canonical JSON: %v", err)
	}
	for _, s := range []string{"getX of 12345 URLs/paths\n/x", "Cafe\u0301 HTMLParser"} {
		if a, b := tk.Encode(s), back.Encode(s); !slices.Equal(a, b) {
			t.Errorf("Encode(%q) = %v after a round trip, %v before", s, b, a)
		}
	}
	// Pre-tokens are encoded apart: "getX" is "get" then "X" under Tekken.
	if got, want := tk.Encode("getX"), append(tk.Encode("get"), tk.Encode("X")...); !slices.Equal(got, want) {
		t.Errorf("Encode(getX) = %v, want Encode(get) + Encode(X) = %v", got, want)
	}
}
