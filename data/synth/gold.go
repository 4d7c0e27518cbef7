package synth

import (
	"strings"
)

// Weights of the gold reward (see [Post.Score]).
const (
	// WeightSalient is the reward for covering all of a post's salient facts
	// (each covered salient fact earns WeightSalient / #salient).
	WeightSalient = 2.0
	// WeightOther is the reward for covering all of a post's other facts.
	WeightOther = 0.5
	// PenaltyHallucination is subtracted per well-formed clause that is not a
	// fact of the post.
	PenaltyHallucination = 1.0
	// PenaltyRepeat is subtracted per clause that repeats an earlier one.
	PenaltyRepeat = 0.5
	// PenaltyUnparseable is subtracted per clause that is not a fact
	// statement at all.
	PenaltyUnparseable = 0.5
	// PenaltyPerExtraWord is subtracted per word beyond the length budget.
	PenaltyPerExtraWord = 0.1
	// WordsPerFact sets the length budget: WordsPerFact words per fact of the
	// post, exactly what a summary stating every fact once needs.
	WordsPerFact = 4
	// MinReward and MaxReward bound the gold reward.
	MinReward = -5.0
	MaxReward = WeightSalient + WeightOther
)

// Breakdown is the gold reward of one response with its parts.
type Breakdown struct {
	// Salient and Other count the post's salient and other facts.
	Salient, Other int
	// SalientCovered and OtherCovered count the distinct post facts the
	// response states.
	SalientCovered, OtherCovered int
	// Hallucinated counts distinct well-formed clauses not in the post.
	Hallucinated int
	// Repeated counts clauses repeating an earlier clause of the response.
	Repeated int
	// Unparseable counts clauses that are not fact statements (including
	// empty clauses between two periods).
	Unparseable int
	// Words is the response's word count and Budget its length budget.
	Words, Budget int
	// Reward is the gold reward.
	Reward float64
}

// Gold returns the closed-form gold reward of response for prompt; it is
// defined on any strings (see [Post.Score]). It parses the prompt on every
// call; to score many responses to one prompt use ParsePost(prompt).Score.
func Gold(prompt, response string) float64 { return Score(prompt, response).Reward }

// Score returns the gold reward of response for prompt with its breakdown.
func Score(prompt, response string) Breakdown { return ParsePost(prompt).Score(response) }

// Score computes the gold reward of a response (any string) to the post.
//
// The response is lower-cased and split into clauses at '.'; a clause is a
// fact if it is exactly an active "<name> <past> the <object>" or passive
// "the <object> was <participle> by <name>" statement. Then
//
//	reward = WeightSalient * covered salient / #salient
//	       + WeightOther   * covered other   / #other
//	       - PenaltyHallucination * hallucinated clauses
//	       - PenaltyRepeat        * repeated clauses
//	       - PenaltyUnparseable   * unparseable clauses
//	       - PenaltyPerExtraWord  * max(0, words - WordsPerFact * #facts)
//
// clipped to [MinReward, MaxReward]. A clause repeating an earlier one
// counts only as a repeat. Text after the last period is a clause too (an
// unfinished generation is judged on what it says); an empty response scores
// 0. The result is deterministic and cheap (no allocation beyond the
// lower-cased copy and the word split).
func (p Post) Score(response string) Breakdown {
	var b Breakdown
	for _, f := range p.Facts {
		if f.Salient() {
			b.Salient++
		} else {
			b.Other++
		}
	}
	b.Budget = WordsPerFact * len(p.Facts)
	low := strings.ToLower(response)
	b.Words = len(strings.Fields(low))
	var seen []Fact
	pieces := strings.Split(low, ".")
	for i, piece := range pieces {
		w := strings.Fields(piece)
		if len(w) == 0 {
			if i < len(pieces)-1 {
				b.Unparseable++ // an empty clause: ". ." or a leading "."
			}
			continue
		}
		f, ok := parseClause(w)
		switch {
		case !ok:
			b.Unparseable++
		case containsFact(seen, f):
			b.Repeated++
		default:
			seen = append(seen, f)
			switch {
			case !p.has(f):
				b.Hallucinated++
			case f.Salient():
				b.SalientCovered++
			default:
				b.OtherCovered++
			}
		}
	}
	r := 0.0
	if b.Salient > 0 {
		r += WeightSalient * float64(b.SalientCovered) / float64(b.Salient)
	}
	if b.Other > 0 {
		r += WeightOther * float64(b.OtherCovered) / float64(b.Other)
	}
	r -= PenaltyHallucination * float64(b.Hallucinated)
	r -= PenaltyRepeat * float64(b.Repeated)
	r -= PenaltyUnparseable * float64(b.Unparseable)
	if extra := b.Words - b.Budget; extra > 0 {
		r -= PenaltyPerExtraWord * float64(extra)
	}
	b.Reward = min(max(r, MinReward), MaxReward)
	return b
}

func containsFact(fs []Fact, f Fact) bool {
	for _, g := range fs {
		if g == f {
			return true
		}
	}
	return false
}
