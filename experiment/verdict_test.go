package experiment

import (
	"math"
	"strings"
	"testing"

	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/sweep"
)

// verdictResults has two members, WA(2) and ENS(2) on the ID and OOD test
// sets, with the given paired differences WA − ENS and WA − best on OOD.
func verdictResults(oodVsENS, oodVsBest Comparison) *Results {
	res := func(id, ood float64) []SetResult {
		return []SetResult{{Set: SetIDTest, N: 100, Accuracy: id, StdErr: 0.05}, {Set: SetOODTest, N: 100, Accuracy: ood, StdErr: 0.05}}
	}
	oodVsENS.A, oodVsENS.B, oodVsENS.Set = "WA(2)", "ENS(2)", SetOODTest
	oodVsBest.A, oodVsBest.B, oodVsBest.Set = "WA(2)", "m0", SetOODTest
	return &Results{RankSet: "ood_dev",
		Sets:    []SetInfo{{Name: SetIDTest, N: 100}, {Name: SetOODTest, N: 100}},
		Members: []MemberInfo{{Member: sweep.Member{Name: "m1"}, Rank: 1}, {Member: sweep.Member{Name: "m0"}, Rank: 0}},
		Entries: []Entry{
			{Name: "m0", Kind: "member", Results: res(0.70, 0.60)},
			{Name: "m1", Kind: "member", Results: res(0.68, 0.58)},
			{Name: "WA(2)", Kind: "wa", M: 2, Results: res(0.71, 0.66)},
			{Name: "ENS(2)", Kind: "ens", M: 2, Results: res(0.72, 0.62)},
		},
		Comparisons: []Comparison{
			{A: "WA(2)", B: "ENS(2)", Set: SetIDTest, Diff: -0.01, StdErr: 0.01},
			{A: "WA(2)", B: "m0", Set: SetIDTest, Diff: 0.01, StdErr: 0.02},
			oodVsENS, oodVsBest,
		}}
}

func TestSummary(t *testing.T) {
	r := verdictResults(Comparison{Diff: 0.04, StdErr: 0.01}, Comparison{Diff: 0.06, StdErr: 0.04})
	v := Summary(r)
	if len(v) != 3 {
		t.Fatalf("%d lines: %q", len(v), v)
	}
	for i, want := range []string{
		"WA(2) against ENS(2) and the best member (m0, ranked on ood_dev): in distribution (test) WA is level with ENS and level with the best member; out of distribution (ood_test) WA is better than ENS and level with the best member",
		"test: WA(2) 0.7100 ± 0.0500, ENS(2) 0.7200 ± 0.0500, m0 0.7000 ± 0.0500; paired WA(2) − ENS(2) -0.0100 ± 0.0100, WA(2) − m0 +0.0100 ± 0.0200.",
		"ood_test: WA(2) 0.6600 ± 0.0500, ENS(2) 0.6200 ± 0.0500, m0 0.6000 ± 0.0500; paired WA(2) − ENS(2) +0.0400 ± 0.0100, WA(2) − m0 +0.0600 ± 0.0400.",
	} {
		if !strings.HasPrefix(v[i], want) {
			t.Errorf("line %d:\n%s\nwant\n%s", i, v[i], want)
		}
	}
	// The words follow the numbers: a worse OOD difference says so.
	r = verdictResults(Comparison{Diff: -0.04, StdErr: 0.01}, Comparison{Diff: 0.2, StdErr: 0.04})
	if v := Summary(r); !strings.Contains(v[0], "out of distribution (ood_test) WA is worse than ENS and better than the best member") {
		t.Errorf("verdict %q", v[0])
	}
	// A set that was not evaluated is said to be so.
	r.Comparisons = r.Comparisons[:2]
	if v := Summary(r); !strings.Contains(v[0], "out of distribution (ood_test) not evaluated") || v[2] != "ood_test: not evaluated." {
		t.Errorf("verdict %q", v)
	}
	if v := Summary(&Results{}); len(v) != 1 || !strings.Contains(v[0], "nothing to compare") {
		t.Errorf("verdict of no results %q", v)
	}
}

func TestReportLeadsWithVerdictAndHeadline(t *testing.T) {
	r := verdictResults(Comparison{Diff: 0.04, StdErr: 0.01}, Comparison{Diff: 0.06, StdErr: 0.04})
	d := reportDoc(Report{Info: ReportInfo{Title: "T", Command: "go test"}, Observations: Observe(r), Results: r})
	if d.Headline == nil || len(d.Headline.Series) != 6 {
		t.Fatalf("headline %+v", d.Headline)
	}
	// WA(M) OOD then ID share their colour; ID is dashed.
	wo, wi := d.Headline.Series[0], d.Headline.Series[3]
	if wo.Label != "WA(M) ood_test" || wi.Label != "WA(M) test" || wo.Color != wi.Color || wo.Dashed || !wi.Dashed {
		t.Errorf("headline series %+v %+v", wo, wi)
	}
	if b := d.Headline.Series[2]; b.Y[0] != 0.60 || b.Dashed {
		t.Errorf("OOD best member %+v", b)
	}
	md := d.Markdown()
	iv, ih, it := strings.Index(md, "WA(2) against ENS(2)"), strings.Index(md, "(headline.png)"), strings.Index(md, "| --- |")
	if iv < 0 || ih < iv || it < ih {
		t.Errorf("verdict at %d, headline at %d, first table at %d:\n%s", iv, ih, it, md)
	}
}

func TestErrorCorrelation(t *testing.T) {
	if r, ok := eval.Pearson([]float64{1, 0, 1, 0}, []float64{1, 0, 1, 0}); !ok || math.Abs(r-1) > 1e-12 {
		t.Errorf("identical: %v %v", r, ok)
	}
	if r, ok := eval.Pearson([]float64{1, 0, 1, 0}, []float64{0, 1, 0, 1}); !ok || math.Abs(r+1) > 1e-12 {
		t.Errorf("opposite: %v %v", r, ok)
	}
	if _, ok := eval.Pearson([]float64{1, 1}, []float64{0, 1}); ok {
		t.Error("a constant accepted")
	}
	man := &sweep.Manifest{Members: []sweep.Member{{Name: "a"}, {Name: "b"}, {Name: "c", Role: sweep.RoleBaseline}}}
	ps := func(c ...float32) pairScores { return pairScores{chosen: c, rejected: []float32{0.5, 0.5, 0.5, 0.5}} }
	ms := []scored{{"x": ps(1, 0, 1, 0)}, {"x": ps(1, 0, 0, 0)}, {"x": ps(0, 1, 0, 1)}}
	ec := errorCorrelation(man, ms, []*Set{{Name: "x"}})
	// a errs on pairs 1 and 3, b on 1, 2 and 3: r = 1/√3; the baseline c
	// (whose errors would correlate -1 with a's) is left out.
	if len(ec) != 1 || ec[0].Pairs != 1 || math.Abs(ec[0].Mean-1/math.Sqrt(3)) > 1e-9 {
		t.Errorf("%+v", ec)
	}
}
