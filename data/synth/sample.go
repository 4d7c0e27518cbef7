package synth

import (
	"math/rand/v2"
	"strings"
)

// plan is the content of a summary before rendering: the post facts it
// states (in post order), hallucinated facts, and how many repeated and
// unparseable clauses to insert.
type plan struct {
	facts   []Fact
	halluc  []Fact
	repeats int
	junk    int
}

// render turns a plan into a response: the post facts in post order, each
// hallucination inserted at a random position, each repeat a copy of an
// earlier clause inserted somewhere after it, each junk clause at a random
// position; clauses joined as " c1. c2. c3."
func (pl plan) render(rng *rand.Rand, post Post) string {
	clauses := make([]string, 0, len(pl.facts)+len(pl.halluc)+pl.repeats+pl.junk)
	for _, f := range pl.facts {
		clauses = append(clauses, f.Clause())
	}
	for _, h := range pl.halluc {
		clauses = insertAt(clauses, rng.IntN(len(clauses)+1), h.Clause())
	}
	for i := 0; i < pl.repeats && len(clauses) > 0; i++ {
		src := rng.IntN(len(clauses))
		clauses = insertAt(clauses, src+1+rng.IntN(len(clauses)-src), clauses[src])
	}
	for i := 0; i < pl.junk; i++ {
		clauses = insertAt(clauses, rng.IntN(len(clauses)+1), junkClause(rng, post))
	}
	if len(clauses) == 0 {
		return ""
	}
	return " " + strings.Join(clauses, ". ") + "."
}

// dropFact removes a random stated fact, if any: an error that replaces a
// fact keeps the summary's length.
func (pl *plan) dropFact(rng *rand.Rand) {
	if len(pl.facts) > 0 {
		i := rng.IntN(len(pl.facts))
		pl.facts = append(pl.facts[:i:i], pl.facts[i+1:]...)
	}
}

func insertAt(s []string, i int, v string) []string {
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// hallucinate returns a well-formed fact that is not in the post and not in
// avoid: half the time a post fact with one slot (name, verb or object)
// swapped, otherwise a random fact.
func hallucinate(rng *rand.Rand, post Post, avoid []Fact) Fact {
	for {
		var f Fact
		if rng.IntN(2) == 0 && len(post.Facts) > 0 {
			f = post.Facts[rng.IntN(len(post.Facts))]
			switch rng.IntN(3) {
			case 0:
				f.Name = uint8(rng.IntN(len(names)))
			case 1:
				f.Verb = uint8(rng.IntN(len(verbs)))
			default:
				f.Object = uint8(rng.IntN(len(objects)))
			}
		} else {
			f = Fact{Name: uint8(rng.IntN(len(names))), Verb: uint8(rng.IntN(len(verbs))), Object: uint8(rng.IntN(len(objects)))}
		}
		if !post.has(f) && !containsFact(avoid, f) {
			return f
		}
	}
}

// junkClause returns a clause that is not a fact statement: a post fact with
// a word dropped, its words shuffled, cut short, or a filler sentence.
func junkClause(rng *rand.Rand, post Post) string {
	var f Fact
	if len(post.Facts) > 0 {
		f = post.Facts[rng.IntN(len(post.Facts))]
	}
	w := strings.Fields(f.Clause())
	switch rng.IntN(4) {
	case 0:
		i := rng.IntN(len(w))
		w = append(w[:i:i], w[i+1:]...)
	case 1:
		w[0], w[3] = w[3], w[0] // "boat sold the mara"
	case 2:
		w = w[:3]
	default:
		return strings.TrimSuffix(fillers[rng.IntN(len(fillers))], ".")
	}
	return strings.Join(w, " ")
}

// binomial draws Binomial(n, p).
func binomial(rng *rand.Rand, n int, p float64) int {
	k := 0
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// idPlan draws the content of an in-distribution summary of quality
// z in [0, 1]. Better summaries state more facts, so they are longer: each
// salient fact is stated with probability 0.1+0.85z, each other fact with
// 0.05+0.75z; worse summaries carry the errors: Binomial(2, 0.35(1-z))
// hallucinations, a repeat with probability 0.25(1-z) and an unparseable
// clause with probability 0.1(1-z). A summary states at least one clause.
func idPlan(rng *rand.Rand, post Post, z float64) plan {
	var pl plan
	for _, f := range post.Facts {
		p := 0.9 * z
		if f.Salient() {
			p = 0.05 + 0.95*z
		}
		if rng.Float64() < p {
			pl.facts = append(pl.facts, f)
		}
	}
	for range binomial(rng, 1, 0.6*(1-z)) {
		pl.halluc = append(pl.halluc, hallucinate(rng, post, pl.halluc))
		pl.dropFact(rng)
	}
	if rng.Float64() < 0.2*(1-z) {
		pl.repeats = 1
	}
	if rng.Float64() < 0.1*(1-z) {
		pl.junk = 1
		pl.dropFact(rng)
	}
	if len(pl.facts)+len(pl.halluc)+pl.junk == 0 {
		pl.facts = append(pl.facts, post.Facts[rng.IntN(len(post.Facts))])
	}
	return pl
}

// SampleID draws an in-distribution summary of quality z in [0, 1] (see the
// package documentation): in this distribution longer summaries are usually
// better.
func SampleID(rng *rand.Rand, post Post, z float64) string {
	return idPlan(rng, post, z).render(rng, post)
}

// SampleConcise draws a short, precise summary: each salient fact with
// probability 0.9 (at least one), nothing else.
func SampleConcise(rng *rand.Rand, post Post) string {
	var pl plan
	var sal []Fact
	for _, f := range post.Facts {
		if f.Salient() {
			sal = append(sal, f)
			if rng.Float64() < 0.9 {
				pl.facts = append(pl.facts, f)
			}
		}
	}
	if len(pl.facts) == 0 && len(sal) > 0 {
		pl.facts = append(pl.facts, sal[rng.IntN(len(sal))])
	}
	if len(pl.facts) == 0 {
		pl.facts = append(pl.facts, post.Facts[0])
	}
	return pl.render(rng, post)
}

// SampleMinor draws a long-ish, error-free summary that states only minor
// facts: each with probability 0.9 (at least one), no salient fact.
func SampleMinor(rng *rand.Rand, post Post) string {
	var pl plan
	var minor []Fact
	for _, f := range post.Facts {
		if !f.Salient() {
			minor = append(minor, f)
			if rng.Float64() < 0.9 {
				pl.facts = append(pl.facts, f)
			}
		}
	}
	if len(pl.facts) == 0 && len(minor) > 0 {
		pl.facts = append(pl.facts, minor[rng.IntN(len(minor))])
	}
	if len(pl.facts) == 0 {
		pl.facts = append(pl.facts, post.Facts[0])
	}
	return pl.render(rng, post)
}

// SampleRambling draws a long, padded summary: each salient fact with
// probability 0.6, each other fact with 0.9, one or two hallucinations and
// Binomial(2, 0.5) repeated clauses.
func SampleRambling(rng *rand.Rand, post Post) string {
	var pl plan
	for _, f := range post.Facts {
		p := 0.9
		if f.Salient() {
			p = 0.6
		}
		if rng.Float64() < p {
			pl.facts = append(pl.facts, f)
		}
	}
	for range 1 + rng.IntN(2) {
		pl.halluc = append(pl.halluc, hallucinate(rng, post, pl.halluc))
	}
	pl.repeats = binomial(rng, 2, 0.5)
	return pl.render(rng, post)
}

// SamplePadded draws a clean summary (the in-distribution sampler at quality
// 0.5..1 without errors) and the same summary padded with one or two
// repeated clauses and, half the time, a hallucination: same facts, longer,
// worse.
func SamplePadded(rng *rand.Rand, post Post) (clean, padded string) {
	pl := idPlan(rng, post, 0.5+0.5*rng.Float64())
	pl.halluc, pl.repeats, pl.junk = nil, 0, 0
	if len(pl.facts) == 0 {
		pl.facts = append(pl.facts, post.Facts[rng.IntN(len(post.Facts))])
	}
	clean = pl.render(rng, post)
	pl.repeats = 1 + rng.IntN(2)
	if rng.IntN(2) == 0 {
		pl.halluc = []Fact{hallucinate(rng, post, nil)}
	}
	return clean, pl.render(rng, post)
}
