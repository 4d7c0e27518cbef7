package experiment

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/sweep"
)

func fakeReport(waAcc, ensAcc, bestAcc float64, diff float64) *Report {
	r := &Results{
		Sets: []SetInfo{{"ood_test", 100}},
		Members: []MemberInfo{
			{Member: sweep.Member{Name: "m0"}, Rank: 0},
			{Member: sweep.Member{Name: "m1"}, Rank: 1},
			{Member: sweep.Member{Name: "all", Role: sweep.RoleBaseline}, Rank: -1},
		},
		Entries: []Entry{
			{Name: "m0", Kind: "member", Results: []SetResult{{Set: "ood_test", Accuracy: bestAcc}}},
			{Name: "m1", Kind: "member", Results: []SetResult{{Set: "ood_test", Accuracy: 0.5}}},
			{Name: "all", Kind: "member", Results: []SetResult{{Set: "ood_test", Accuracy: 0.99}}},
			{Name: "WA(2)", Kind: "wa", M: 2, Results: []SetResult{{Set: "ood_test", Accuracy: waAcc}}},
			{Name: "ENS(2)", Kind: "ens", M: 2, Results: []SetResult{{Set: "ood_test", Accuracy: ensAcc}}},
		},
		Comparisons: []Comparison{
			{A: "WA(2)", B: "ENS(2)", Set: "ood_test", Diff: diff},
			{A: "WA(2)", B: "m0", Set: "ood_test", Diff: waAcc - bestAcc},
		},
	}
	return &Report{Results: r, Observations: Observe(r)}
}

func TestAggregate(t *testing.T) {
	reps := []*Report{fakeReport(0.7, 0.6, 0.65, 0.1), fakeReport(0.8, 0.6, 0.75, 0.2), fakeReport(0.9, 0.6, 0.70, 0.3)}
	ag, err := AggregateReports([]string{"a", "b", "c"}, reps)
	if err != nil {
		t.Fatal(err)
	}
	find := func(metric string) AggregateRow {
		for _, r := range ag.Rows {
			if r.Metric == metric && r.Set == "ood_test" {
				return r
			}
		}
		t.Fatalf("no row %q in %+v", metric, ag.Rows)
		return AggregateRow{}
	}
	if r := find("WA(2)"); math.Abs(r.Mean-0.8) > 1e-12 || math.Abs(r.SD-0.1) > 1e-12 {
		t.Errorf("WA(2): %+v", r)
	}
	if r := find("WA(2) − ENS(2)"); math.Abs(r.Mean-0.2) > 1e-12 {
		t.Errorf("WA−ENS: %+v", r)
	}
	if r := find("WA(2) − best member"); math.Abs(r.Mean-(0.05+0.05+0.2)/3) > 1e-12 {
		t.Errorf("WA−best: %+v", r)
	}
	// The baseline is not a member of the mean.
	if r := find("mean member"); math.Abs(r.Mean-(0.575+0.625+0.6)/3) > 1e-12 {
		t.Errorf("mean member: %+v", r)
	}
	md := ag.Markdown("t", "cmd")
	if !strings.Contains(md, "+0.8000 ± 0.1000") {
		t.Errorf("markdown:\n%s", md)
	}
	if _, err := AggregateReports([]string{"a"}, reps[:1]); err == nil {
		t.Error("one report aggregated")
	}
	// Round trip through files.
	dir := t.TempDir()
	var paths []string
	for i, rep := range reps {
		p := filepath.Join(dir, string(rune('a'+i)))
		if err := WriteReport(p, ReportInfo{Title: "x"}, rep.Results, false); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	if _, err := WriteAggregate(filepath.Join(dir, "agg"), paths, "t", "cmd", false); err != nil {
		t.Fatal(err)
	}
}
