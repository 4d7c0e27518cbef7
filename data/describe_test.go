package data

import "testing"

func TestDescribe(t *testing.T) {
	ps := DescribePairs([]Pair{
		{Prompt: "a b", Chosen: "x y z", Rejected: "x"},
		{Chosen: "x", Rejected: "y y y", Flipped: true},
		{Prompt: "p", Chosen: "same", Rejected: "diff"},
	})
	if ps.Pairs != 3 || ps.Flipped != 1 || ps.EmptyPrompt != 1 || ps.ChosenLonger != 0.5 {
		t.Errorf("pair summary %+v", ps)
	}
	if ps.Chosen.Max != 3 || ps.Chosen.Min != 1 || ps.Rejected.Mean != 5.0/3 {
		t.Errorf("lengths %+v %+v", ps.Chosen, ps.Rejected)
	}
	es := DescribeExamples([]Example{{Prompt: "a"}, {Prompt: "a b", Response: "c"}})
	if es.NoResponse != 1 || es.Prompt.Max != 2 {
		t.Errorf("example summary %+v", es)
	}
	ts := DescribeText([]string{"one two", "three"})
	if ts.Documents != 2 || ts.Words != 3 || ts.Bytes != 12 || ts.DocWords.P50 != 2 {
		t.Errorf("text summary %+v", ts)
	}
}
