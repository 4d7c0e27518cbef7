package data

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
)

// Degeneration is one way fluent text goes wrong when a policy hacks a
// reward model: the shapes RL policies on ETHICS were seen to write
// (docs/POLICY.md), made by rule from fluent text so that a control reward
// model can be taught, and tested, to rank them below it.
type Degeneration string

// The degenerations.
const (
	// Stutter repeats a few words of the text in place, 2 to 4 times each:
	// "I plan plan plan to program program program".
	Stutter Degeneration = "stutter"
	// Loop keeps the start of the text and then repeats a short window of its
	// words (1 to 4) up to a longer length: "but lately lately but lately".
	Loop Degeneration = "loop"
	// Babble keeps the start and continues with words drawn at random from
	// the text itself: "I usually graduate we graduate, but I usually".
	Babble Degeneration = "babble"
	// Salad keeps the start and shuffles the words after it.
	Salad Degeneration = "salad"
	// Theme keeps the start and continues with one or two of the text's own
	// content words over and over, sometimes inflected, joined by function
	// words and now and then another word of the text, to a longer length:
	// "graduate program program on a program of program". Each piece is grammatical-looking, so the text reads less
	// broken than a loop, which is what the ETHICS policies trained against
	// WARM(6) at alpha 0.03 wrote (docs/POLICY.md).
	Theme Degeneration = "theme"
)

// Degenerations lists every degeneration, in a fixed order.
var Degenerations = []Degeneration{Stutter, Loop, Babble, Salad, Theme}

// ParseDegenerations parses a comma-separated list of degeneration names.
func ParseDegenerations(s string) ([]Degeneration, error) {
	var out []Degeneration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		ok := false
		for _, d := range Degenerations {
			if Degeneration(f) == d {
				out, ok = append(out, d), true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown degeneration %q (want a comma-separated list of %s)", f, degenerationNames())
		}
	}
	return out, nil
}

func degenerationNames() string {
	names := make([]string, len(Degenerations))
	for i, d := range Degenerations {
		names[i] = string(d)
	}
	return strings.Join(names, ", ")
}

// minDegenerateWords is the fewest words a text needs to be degenerated.
const minDegenerateWords = 4

// Degenerate returns a degenerate version of the text prefix+text: the words
// of prefix are kept as they are (they stand for the prompt a policy
// continues) and the words of text are degraded by kind. It reports false
// when prefix and text together have fewer than 4 words or text is empty.
// Draws come from rng only, so the same rng state gives the same result.
func Degenerate(prefix, text string, kind Degeneration, rng *rand.Rand) (string, bool) {
	pre, words := strings.Fields(prefix), strings.Fields(text)
	if len(words) == 0 || len(pre)+len(words) < minDegenerateWords {
		return "", false
	}
	all := append(append([]string(nil), pre...), words...)
	var out []string
	switch kind {
	case Stutter:
		times := make([]int, len(words))
		for i := range times {
			times[i] = 1
		}
		for k := 1 + rng.IntN(3); k > 0; k-- {
			times[rng.IntN(len(words))] = 2 + rng.IntN(3)
		}
		for i, w := range words {
			for range times[i] {
				out = append(out, w)
			}
		}
	case Loop:
		keep := rng.IntN(len(words))
		out = append(out, words[:keep]...)
		head := append(append([]string(nil), pre...), out...)
		width := 1 + rng.IntN(4)
		var window []string
		if len(head) >= width {
			window = head[len(head)-width:]
		} else {
			window = pickWords(all, width, rng)
		}
		for n := targetLength(len(words), rng); len(out) < n; {
			out = append(out, window[len(out)%len(window)])
			if rng.IntN(8) == 0 { // an occasional connector keeps it from being a pure cycle
				out = append(out, all[rng.IntN(len(all))])
			}
		}
	case Babble:
		keep := rng.IntN(len(words))
		out = append(out, words[:keep]...)
		for n := targetLength(len(words), rng); len(out) < n; {
			out = append(out, all[rng.IntN(len(all))])
		}
	case Salad:
		if len(words) < 2 {
			return "", false
		}
		keep := rng.IntN(len(words) / 2)
		out = append(out, words[:keep]...)
		rest := append([]string(nil), words[keep:]...)
		rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		out = append(out, rest...)
	case Theme:
		return theme(all, words, rng)
	default:
		return "", false
	}
	return strings.Join(out, " "), true
}

// functionWords are the English words Theme joins its content words with
// and Repetition leaves out.
var functionWords = map[string]bool{
	"a": true, "an": true, "the": true, "and": true, "or": true, "but": true, "of": true, "on": true,
	"in": true, "to": true, "as": true, "at": true, "for": true, "with": true, "by": true, "from": true,
	"i": true, "my": true, "me": true, "we": true, "our": true, "you": true, "your": true, "he": true,
	"she": true, "it": true, "its": true, "his": true, "her": true, "they": true, "their": true, "them": true,
	"is": true, "was": true, "are": true, "were": true, "be": true, "been": true, "am": true, "so": true,
	"that": true, "this": true, "not": true, "do": true, "did": true, "had": true, "has": true, "have": true,
}

// connectors are the function words Theme uses, in a fixed order.
var connectors = []string{"and", "of", "a", "the", "on", "as", "or", "to", "in", "with"}

// themeSuffixes are the endings Theme sometimes gives a content word.
var themeSuffixes = []string{"s", "ed", "ing", "er"}

// bareWord is w lower-cased without the punctuation around it.
func bareWord(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}

// isContent reports whether a bare word is a content word: three letters or
// more and not a function word.
func isContent(w string) bool { return len(w) >= 3 && !functionWords[w] }

// theme makes the Theme degeneration of words, the last words of all (the
// prompt's words, then words).
func theme(all, words []string, rng *rand.Rand) (string, bool) {
	var content []string
	seen := map[string]bool{}
	for _, w := range all {
		if b := bareWord(w); isContent(b) && !seen[b] {
			seen[b] = true
			content = append(content, b)
		}
	}
	if len(content) == 0 {
		return "", false
	}
	themes := []string{content[rng.IntN(len(content))]}
	if len(content) > 1 && rng.IntN(2) == 0 {
		for {
			if w := content[rng.IntN(len(content))]; w != themes[0] {
				themes = append(themes, w)
				break
			}
		}
	}
	keep := rng.IntN(len(words)/2 + 1)
	out := append([]string(nil), words[:keep]...)
	n := targetLength(len(words), rng)
	// At least four theme words, so that with at most two themes one of
	// them comes back whatever the length.
	for said := 0; said < 4 || len(out) < n; said++ {
		if len(out) > keep && rng.IntN(2) == 0 {
			out = append(out, connectors[rng.IntN(len(connectors))])
			if rng.IntN(3) == 0 {
				out = append(out, connectors[rng.IntN(len(connectors))])
			}
		}
		if rng.IntN(8) == 0 { // now and then another word of the text
			out = append(out, content[rng.IntN(len(content))])
		}
		w := themes[rng.IntN(len(themes))]
		if rng.IntN(4) == 0 {
			w += themeSuffixes[rng.IntN(len(themeSuffixes))]
		}
		out = append(out, w)
	}
	if rng.IntN(2) == 0 {
		out[len(out)-1] += "."
	}
	return strings.Join(out, " "), true
}

// Repetition is the share of a text's content words (three letters or more,
// not a function word; compared lower-cased without punctuation) that
// repeat an earlier content word of the same text: 0 for a text with no
// repeated content word, towards 1 for one that says a single word over and
// over. It is a check on degenerate text that needs no model, so that no
// model's blind spot hides from it; fluent text repeats a content word
// too, so it is read against fluent samples of the same length.
func Repetition(text string) float64 { return repeatShare(text, func(w string) string { return w }) }

// StemLen is the number of leading letters by which StemRepetition
// compares content words.
const StemLen = 5

// StemRepetition is Repetition with content words compared by their first
// StemLen letters (whole, when shorter), so that made-up variants of one
// stem ("librarian … libration … librara") count as repeats, as the same
// word over and over does: it is never below Repetition. RL policies whose
// whole-word repetition is penalised move to such variants (docs/POLICY.md);
// inflected fluent text ("graduated … graduation") counts here too, so it is
// read against fluent samples, as Repetition is.
func StemRepetition(text string) float64 {
	return repeatShare(text, func(w string) string {
		if r := []rune(w); len(r) > StemLen {
			return string(r[:StemLen])
		}
		return w
	})
}

// repeatShare is the share of text's content words whose key was the key of
// an earlier content word.
func repeatShare(text string, key func(string) string) float64 {
	seen := map[string]bool{}
	var n, again int
	for _, w := range strings.Fields(text) {
		b := bareWord(w)
		if !isContent(b) {
			continue
		}
		n++
		k := key(b)
		if seen[k] {
			again++
		}
		seen[k] = true
	}
	if n == 0 {
		return 0
	}
	return float64(again) / float64(n)
}

// targetLength draws the length in words of a looped or babbled text: from
// the original length to 2.5 times it (at least 4 words more), since hacked
// policies run to the length cap.
func targetLength(n int, rng *rand.Rand) int {
	lo, hi := n, n*5/2
	if hi < n+4 {
		hi = n + 4
	}
	return lo + rng.IntN(hi-lo+1)
}

func pickWords(all []string, k int, rng *rand.Rand) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = all[rng.IntN(len(all))]
	}
	return out
}

// degenerateStream is the PCG stream of DegeneratePairs.
const degenerateStream = 0xde9e7e

// DegeneratePairs returns one pair per usable input: Chosen is a fluent text
// of the input, Rejected a degenerate version of it (kinds taken in turn),
// with the input's prompt. A pair with a prompt gives its originally
// preferred response, degraded after the prompt; a prompt-less pair (ETHICS
// scenarios) gives one of its two texts at random, whose first words (two
// to half of them) are kept as the prompt a policy would continue. Inputs too
// short to degenerate (fewer than 4 words) are skipped. The result depends
// only on the inputs, kinds and seed.
func DegeneratePairs(pairs []Pair, kinds []Degeneration, seed uint64) ([]Pair, error) {
	if len(kinds) == 0 {
		return nil, fmt.Errorf("degenerate pairs: no degeneration given (want some of %s)", degenerationNames())
	}
	rng := rand.New(rand.NewPCG(seed, degenerateStream))
	var out []Pair
	for _, p := range pairs {
		chosen, rejected := p.Original()
		text := chosen
		if p.Prompt == "" && rng.IntN(2) == 1 {
			text = rejected
		}
		kind := kinds[len(out)%len(kinds)]
		prefix, rest := p.Prompt, text
		if p.Prompt == "" {
			words := strings.Fields(text)
			if len(words) < minDegenerateWords {
				continue
			}
			k := 2 + rng.IntN(len(words)/2-1)
			prefix, rest = strings.Join(words[:k], " "), strings.Join(words[k:], " ")
		}
		bad, ok := Degenerate(prefix, rest, kind, rng)
		if !ok || bad == strings.Join(strings.Fields(rest), " ") {
			continue
		}
		q := Pair{ID: len(out), Prompt: p.Prompt, Chosen: text, Rejected: bad, Source: fmt.Sprintf("%s:%s", kind, p.Source)}
		if p.Prompt == "" {
			q.Rejected = prefix + " " + bad
		} else {
			// Keep the response's own leading space, which joins it to the prompt.
			q.Rejected = text[:len(text)-len(strings.TrimLeftFunc(text, unicode.IsSpace))] + bad
		}
		out = append(out, q)
	}
	return out, nil
}
