package synth

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// PromptSuffix ends every prompt: prompt = post + PromptSuffix. A response
// (summary) follows it directly and starts with a space: " mara sold the
// boat. tom lost the car." The end of a response is the tokenizer's EOS.
const PromptSuffix = " TL;DR:"

// Fact is one clause of the world: Name Verb "the" Object, as indices into
// the world's tables.
type Fact struct {
	Name, Verb, Object uint8
}

// Clause returns the fact's canonical clause, "mara sold the boat".
func (f Fact) Clause() string {
	return names[f.Name] + " " + verbs[f.Verb].past + " the " + objects[f.Object]
}

// Passive returns the fact in the passive voice, "the boat was sold by mara".
func (f Fact) Passive() string {
	return "the " + objects[f.Object] + " was " + verbs[f.Verb].participle + " by " + names[f.Name]
}

// Salient reports whether the fact is important: its verb is one of the
// salient verbs (sold, lost, stole, broke, won, burned, bought, crashed).
func (f Fact) Salient() bool { return verbs[f.Verb].salient }

// Post is a prompt of the task: the facts it states, in order, and its text.
type Post struct {
	// Facts are the post's facts in the order the text states them.
	Facts []Fact
	// Text is the post without PromptSuffix.
	Text string
}

// Prompt returns the post's prompt, Text + PromptSuffix.
func (p Post) Prompt() string { return p.Text + PromptSuffix }

// NumSalient returns how many of the post's facts are salient.
func (p Post) NumSalient() int {
	n := 0
	for _, f := range p.Facts {
		if f.Salient() {
			n++
		}
	}
	return n
}

// has reports whether f is one of the post's facts.
func (p Post) has(f Fact) bool { return slices.Contains(p.Facts, f) }

// key identifies the post's fact set (order-free) for de-duplication.
func (p Post) key() string {
	fs := slices.Clone(p.Facts)
	slices.SortFunc(fs, func(a, b Fact) int {
		if a.Name != b.Name {
			return int(a.Name) - int(b.Name)
		}
		if a.Verb != b.Verb {
			return int(a.Verb) - int(b.Verb)
		}
		return int(a.Object) - int(b.Object)
	})
	b := make([]byte, 0, 3*len(fs))
	for _, f := range fs {
		b = append(b, f.Name, f.Verb, f.Object)
	}
	return string(b)
}

// NewPost draws a post: K = 3..5 facts with distinct names and distinct
// objects, 1 or 2 of them salient, stated in random order. Each fact is one
// sentence, active ("mara sold the boat.", 70%) or passive ("the boat was
// sold by mara.", 30%), sometimes opened by an adverb ("yesterday ..."). An
// opener sentence (40%) and at most one filler sentence between facts add
// variety without adding facts.
func NewPost(rng *rand.Rand) Post {
	k := 3 + rng.IntN(3)
	nSal := 1 + rng.IntN(2)
	nm := rng.Perm(len(names))[:k]
	ob := rng.Perm(len(objects))[:k]
	sv := rng.Perm(len(salientVerbs))[:nSal]
	mv := rng.Perm(len(minorVerbs))[:k-nSal]
	facts := make([]Fact, k)
	for i := range facts {
		var v int
		if i < nSal {
			v = salientVerbs[sv[i]]
		} else {
			v = minorVerbs[mv[i-nSal]]
		}
		facts[i] = Fact{Name: uint8(nm[i]), Verb: uint8(v), Object: uint8(ob[i])}
	}
	rng.Shuffle(k, func(i, j int) { facts[i], facts[j] = facts[j], facts[i] })

	var sents []string
	if rng.Float64() < 0.4 {
		sents = append(sents, openers[rng.IntN(len(openers))])
	}
	usedFiller := false
	for i, f := range facts {
		s := f.Clause()
		if rng.Float64() < 0.3 {
			s = f.Passive()
		}
		if rng.Float64() < 0.3 {
			s = adverbs[rng.IntN(len(adverbs))] + " " + s
		}
		sents = append(sents, s+".")
		if !usedFiller && i < k-1 && rng.Float64() < 0.15 {
			sents = append(sents, fillers[rng.IntN(len(fillers))])
			usedFiller = true
		}
	}
	return Post{Facts: facts, Text: strings.Join(sents, " ")}
}

// ParsePost recovers a post's facts from a prompt (any string): the text
// before the last "TL;DR:" (case-insensitive; the whole prompt if there is
// none) is split into sentences at '.', and every active
// "<name> <past> the <object>" or passive "the <object> was <participle> by
// <name>" word sequence in a sentence is a fact. Repeated facts count once.
// On generated posts this returns exactly the facts NewPost drew.
func ParsePost(prompt string) Post {
	text := prompt
	if i := lastIndexASCIIFold(prompt, "tl;dr:"); i >= 0 {
		text = strings.TrimRight(prompt[:i], " ")
	}
	low := strings.ToLower(text)
	var facts []Fact
	for _, sent := range strings.Split(low, ".") {
		w := strings.Fields(sent)
		for i := range w {
			f, ok := matchActive(w[i:])
			if !ok {
				f, ok = matchPassive(w[i:])
			}
			if ok && !slices.Contains(facts, f) {
				facts = append(facts, f)
			}
		}
	}
	return Post{Facts: facts, Text: text}
}

// matchActive matches "<name> <past> the <object>" at the start of w.
func matchActive(w []string) (Fact, bool) {
	if len(w) < 4 || w[2] != "the" {
		return Fact{}, false
	}
	n, ok1 := nameIndex[w[0]]
	v, ok2 := pastIndex[w[1]]
	o, ok3 := objectIndex[w[3]]
	if !ok1 || !ok2 || !ok3 {
		return Fact{}, false
	}
	return Fact{Name: uint8(n), Verb: uint8(v), Object: uint8(o)}, true
}

// matchPassive matches "the <object> was <participle> by <name>" at the
// start of w.
func matchPassive(w []string) (Fact, bool) {
	if len(w) < 6 || w[0] != "the" || w[2] != "was" || w[4] != "by" {
		return Fact{}, false
	}
	o, ok1 := objectIndex[w[1]]
	v, ok2 := participleIndex[w[3]]
	n, ok3 := nameIndex[w[5]]
	if !ok1 || !ok2 || !ok3 {
		return Fact{}, false
	}
	return Fact{Name: uint8(n), Verb: uint8(v), Object: uint8(o)}, true
}

// parseClause parses a whole summary clause: exactly an active (4 words) or
// passive (6 words) fact statement.
func parseClause(w []string) (Fact, bool) {
	switch len(w) {
	case 4:
		return matchActive(w)
	case 6:
		return matchPassive(w)
	}
	return Fact{}, false
}

// lastIndexASCIIFold returns the last index of the lower-case ASCII pattern
// pat in s, comparing ASCII letters case-insensitively, or -1. Unlike
// searching strings.ToLower(s), the index is always valid for s itself.
func lastIndexASCIIFold(s, pat string) int {
	for i := len(s) - len(pat); i >= 0; i-- {
		ok := true
		for j := 0; j < len(pat); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != pat[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}
