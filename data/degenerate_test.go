package data

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestDegenerateShapes(t *testing.T) {
	prefix := "I went to the"
	text := "store with my sister and bought a cake for her birthday"
	for _, kind := range Degenerations {
		for seed := range uint64(50) {
			rng := rand.New(rand.NewPCG(seed, 1))
			got, ok := Degenerate(prefix, text, kind, rng)
			if !ok {
				t.Fatalf("%s seed %d: refused a 15-word text", kind, seed)
			}
			words, orig := strings.Fields(got), strings.Fields(text)
			switch kind {
			case Stutter:
				if len(words) <= len(orig) || !hasRepeat(words) {
					t.Fatalf("%s seed %d: %q has no repeated word", kind, seed, got)
				}
			case Loop, Babble:
				if len(words) < len(orig) {
					t.Fatalf("%s seed %d: %q is shorter than the original", kind, seed, got)
				}
				vocab := map[string]bool{}
				for _, w := range strings.Fields(prefix + " " + text) {
					vocab[w] = true
				}
				for _, w := range words {
					if !vocab[w] {
						t.Fatalf("%s seed %d: word %q is not from the text", kind, seed, w)
					}
				}
			case Salad:
				if len(words) != len(orig) {
					t.Fatalf("%s seed %d: %q changed the word count", kind, seed, got)
				}
			case Theme:
				if len(words) < len(orig) {
					t.Fatalf("%s seed %d: %q is shorter than the original", kind, seed, got)
				}
				// One content word of the text comes back, and no word is new
				// but an inflection of one or a connector.
				if !repeatsStem(words[len(words)/2:], prefix+" "+text) {
					t.Fatalf("%s seed %d: %q says no word of the text twice in its second half", kind, seed, got)
				}
				for _, w := range words {
					if !fromText(bareWord(w), prefix+" "+text) {
						t.Fatalf("%s seed %d: word %q of %q is neither the text's nor a connector", kind, seed, w, got)
					}
				}
			}
		}
	}
	if _, ok := Degenerate("", "too short", Loop, rand.New(rand.NewPCG(1, 1))); ok {
		t.Fatal("a 2-word text was degenerated")
	}
	if _, ok := Degenerate("one two three", "four", Salad, rand.New(rand.NewPCG(1, 1))); ok {
		t.Fatal("a 1-word salad was accepted")
	}
}

// fromText reports whether w is a word of text, one with a Theme suffix, or
// a connector.
func fromText(w, text string) bool {
	words := map[string]bool{}
	for _, t := range strings.Fields(text) {
		words[bareWord(t)] = true
	}
	if words[w] {
		return true
	}
	for _, c := range connectors {
		if w == c {
			return true
		}
	}
	for _, s := range themeSuffixes {
		if b, ok := strings.CutSuffix(w, s); ok && words[b] {
			return true
		}
	}
	return false
}

// repeatsStem reports whether words say some content word of text twice,
// inflected or not.
func repeatsStem(words []string, text string) bool {
	count := map[string]int{}
	for _, t := range strings.Fields(text) {
		if b := bareWord(t); isContent(b) {
			count[b] = 0
		}
	}
	for _, w := range words {
		b := bareWord(w)
		for _, s := range themeSuffixes {
			if stem, ok := strings.CutSuffix(b, s); ok {
				if _, known := count[stem]; known {
					b = stem
				}
			}
		}
		if n, known := count[b]; known {
			if n == 1 {
				return true
			}
			count[b] = n + 1
		}
	}
	return false
}

func TestRepetition(t *testing.T) {
	for _, c := range []struct {
		text string
		want float64
	}{
		{"", 0},
		{"I went to the store with my sister.", 0},
		{"the program, the Program and the program!", 2.0 / 3},
		// graduated graduate programed program private graduating program con graduate program program program program:
		// 13 content words, 6 of them said before.
		{"graduated and graduate programed as a program of private graduating program as con and graduate program program on a program of program.", 6.0 / 13},
	} {
		if got := Repetition(c.text); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Repetition(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestStemRepetition(t *testing.T) {
	for _, c := range []struct {
		text       string
		word, stem float64
	}{
		{"", 0, 0},
		{"I went to the store with my sister.", 0, 0},
		// libration librarer librara libritit piano: no word twice, but
		// "libra" three times (two repeats of five).
		{"I libration to me with me and a librarer for me to me and librara for me with the libritit piano for 1", 0, 2.0 / 5},
		// Words of StemLen letters or fewer are compared whole: "grade"
		// and "grades" share "grade"; "win" and "wine" do not share a key.
		{"grade grades win wine", 0, 1.0 / 4},
		{"the program, the Program and the program!", 2.0 / 3, 2.0 / 3},
	} {
		if got := Repetition(c.text); math.Abs(got-c.word) > 1e-12 {
			t.Errorf("Repetition(%q) = %v, want %v", c.text, got, c.word)
		}
		if got := StemRepetition(c.text); math.Abs(got-c.stem) > 1e-12 {
			t.Errorf("StemRepetition(%q) = %v, want %v", c.text, got, c.stem)
		}
	}
}

func hasRepeat(words []string) bool {
	for i := 1; i < len(words); i++ {
		if words[i] == words[i-1] {
			return true
		}
	}
	return false
}

func TestDegeneratePairs(t *testing.T) {
	pairs := []Pair{
		{ID: 0, Chosen: "I helped my neighbour carry her groceries up the stairs", Rejected: "I carried groceries up the stairs for nobody at all", Source: "a:1"},
		{ID: 1, Chosen: "tiny", Rejected: "also tiny", Source: "a:2"},
		{ID: 2, Prompt: "My friend asked me", Chosen: "to help and I said yes right away", Rejected: "no", Flipped: true, Source: "a:3"},
		{ID: 3, Chosen: "We went hiking in the hills and saw a deer", Rejected: "We went hiking in the rain and got soaked", Source: "a:4"},
	}
	got, err := DegeneratePairs(pairs, []Degeneration{Loop, Stutter}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d pairs, want 3 (the 2-word pair skipped): %+v", len(got), got)
	}
	for i, p := range got {
		if p.ID != i || p.Chosen == p.Rejected || p.Flipped {
			t.Fatalf("pair %d: %+v", i, p)
		}
	}
	// The prompt-less pair keeps its first words as the prompt a policy continues.
	if first := strings.Fields(got[0].Chosen)[:2]; !strings.HasPrefix(got[0].Rejected, strings.Join(first, " ")+" ") {
		t.Fatalf("pair 0 lost its opening words: %+v", got[0])
	}
	// A flipped pair with a prompt gives its originally preferred response.
	if got[1].Prompt != "My friend asked me" || got[1].Chosen != "no" {
		t.Fatalf("pair 1: %+v", got[1])
	}
	again, _ := DegeneratePairs(pairs, []Degeneration{Loop, Stutter}, 3)
	if !reflect.DeepEqual(got, again) {
		t.Fatal("same seed, different pairs")
	}
	other, _ := DegeneratePairs(pairs, []Degeneration{Loop, Stutter}, 4)
	if reflect.DeepEqual(got, other) {
		t.Fatal("another seed gave the same pairs")
	}
	if _, err := DegeneratePairs(pairs, nil, 1); err == nil {
		t.Fatal("no kinds accepted")
	}
	if _, err := ParseDegenerations("loop,bogus"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("ParseDegenerations: %v", err)
	}
}
