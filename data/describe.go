package data

import (
	"slices"
	"strings"
)

// Lengths summarises a distribution of text lengths in words
// (whitespace-separated fields).
type Lengths struct {
	Mean float64 `json:"mean"`
	Min  int     `json:"min"`
	P50  int     `json:"p50"`
	P95  int     `json:"p95"`
	Max  int     `json:"max"`
}

// lengthsOf summarises word counts.
func lengthsOf(counts []int) Lengths {
	if len(counts) == 0 {
		return Lengths{}
	}
	s := slices.Clone(counts)
	slices.Sort(s)
	sum := 0
	for _, c := range s {
		sum += c
	}
	return Lengths{
		Mean: float64(sum) / float64(len(s)),
		Min:  s[0],
		P50:  s[len(s)/2],
		P95:  s[len(s)*95/100],
		Max:  s[len(s)-1],
	}
}

func words(s string) int { return len(strings.Fields(s)) }

// PairSummary describes a set of preference pairs.
type PairSummary struct {
	Pairs int `json:"pairs"`
	// Flipped counts corrupted labels; EmptyPrompt counts pairs without a
	// prompt.
	Flipped     int `json:"flipped"`
	EmptyPrompt int `json:"empty_prompt"`
	// Prompt, Chosen and Rejected are word-count distributions (Chosen is the
	// label's choice, as stored).
	Prompt   Lengths `json:"prompt_words"`
	Chosen   Lengths `json:"chosen_words"`
	Rejected Lengths `json:"rejected_words"`
	// ChosenLonger is the fraction of pairs, among those whose responses
	// differ in length (bytes), where the chosen response is the longer: how
	// well a "longer is better" shortcut would do.
	ChosenLonger float64 `json:"chosen_longer"`
}

// DescribePairs summarises pairs.
func DescribePairs(pairs []Pair) PairSummary {
	s := PairSummary{Pairs: len(pairs)}
	var pw, cw, rw []int
	longer, unequal := 0, 0
	for _, p := range pairs {
		if p.Flipped {
			s.Flipped++
		}
		if p.Prompt == "" {
			s.EmptyPrompt++
		}
		pw = append(pw, words(p.Prompt))
		cw = append(cw, words(p.Chosen))
		rw = append(rw, words(p.Rejected))
		if len(p.Chosen) != len(p.Rejected) {
			unequal++
			if len(p.Chosen) > len(p.Rejected) {
				longer++
			}
		}
	}
	s.Prompt, s.Chosen, s.Rejected = lengthsOf(pw), lengthsOf(cw), lengthsOf(rw)
	if unequal > 0 {
		s.ChosenLonger = float64(longer) / float64(unequal)
	}
	return s
}

// ExampleSummary describes prompt/completion examples.
type ExampleSummary struct {
	Examples int `json:"examples"`
	// NoResponse counts prompt-only examples.
	NoResponse int     `json:"no_response"`
	Prompt     Lengths `json:"prompt_words"`
	Response   Lengths `json:"response_words"`
}

// DescribeExamples summarises examples.
func DescribeExamples(ex []Example) ExampleSummary {
	s := ExampleSummary{Examples: len(ex)}
	var pw, rw []int
	for _, e := range ex {
		if e.Response == "" {
			s.NoResponse++
		}
		pw = append(pw, words(e.Prompt))
		rw = append(rw, words(e.Response))
	}
	s.Prompt, s.Response = lengthsOf(pw), lengthsOf(rw)
	return s
}

// TextSummary describes a plain-text corpus.
type TextSummary struct {
	Documents int     `json:"documents"`
	Bytes     int64   `json:"bytes"`
	Words     int64   `json:"words"`
	DocWords  Lengths `json:"doc_words"`
}

// DescribeText summarises documents.
func DescribeText(docs []string) TextSummary {
	s := TextSummary{Documents: len(docs)}
	counts := make([]int, len(docs))
	for i, d := range docs {
		counts[i] = words(d)
		s.Bytes += int64(len(d))
		s.Words += int64(counts[i])
	}
	s.DocWords = lengthsOf(counts)
	return s
}
