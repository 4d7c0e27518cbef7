package experiment

import (
	"math"
	"strings"
	"testing"
)

func observation(obs []Observation, id string) Observation {
	for _, o := range obs {
		if o.ID == id {
			return o
		}
	}
	return Observation{}
}

// curve is an LMC curve on set whose interior point (λ = ½) has WA − Diag =
// gap with standard error se.
func curve(set string, gap, se float64) Curve {
	return Curve{Kind: "lr", A: "a", B: "b", Set: set, Lambdas: []float64{0, 0.5, 1},
		WA: []float64{0.6, 0.6 + gap, 0.6}, ENS: []float64{0.6, 0.6, 0.6}, Diag: []float64{0.6, 0.6, 0.6},
		WADiagSE: []float64{0, se, 0}}
}

func TestObservationOne(t *testing.T) {
	for _, tc := range []struct {
		name   string
		curves []Curve
		want   Verdict
	}{
		{"above", []Curve{curve("ood_test", +0.02, 0.005)}, Holds},
		{"a barrier beyond noise", []Curve{curve("ood_test", -0.03, 0.005)}, DoesNotHold},
		{"a dip within 2 SE", []Curve{curve("ood_test", -0.03, 0.02)}, HoldsWithinNoise},
		{"a dip under 1 point", []Curve{curve("ood_test", -0.008, 0.001)}, HoldsWithinNoise},
		// Below Diag on the flipped pairs is less memorisation (Obs.3a),
		// not a failure of Obs.1.
		{"flipped pairs ignored", []Curve{curve("ood_test", +0.01, 0.005), curve(SetTrainFlipped, -0.1, 0.005)}, Holds},
		{"no curves", nil, NotMeasured},
	} {
		obs := Observe(&Results{LMC: tc.curves, Comparisons: []Comparison{{A: "WA(2)", B: "ENS(2)", Set: SetTrainFlipped, Diff: -0.1, StdErr: 0.01}},
			Entries: []Entry{{Name: "WA(2)", Kind: "wa", M: 2}}})
		o1 := observation(obs, "Obs.1")
		if o1.Verdict != tc.want {
			t.Errorf("%s: Obs.1 %q (%s), want %q", tc.name, o1.Verdict, o1.Evidence, tc.want)
		}
		o3 := observation(obs, "Obs.3a")
		if strings.Contains(tc.name, "flipped") && !strings.Contains(o3.Evidence, "LMC") {
			t.Errorf("%s: Obs.3a evidence %q lacks the flipped LMC curve", tc.name, o3.Evidence)
		}
	}
}

func TestObservationTwoIsJudgedInDistribution(t *testing.T) {
	r := &Results{
		Sets:    []SetInfo{{SetTrainClean, 100}, {SetIDTest, 100}, {"ood_test", 100}},
		Entries: []Entry{{Name: "WA(2)", Kind: "wa", M: 2}},
		Comparisons: []Comparison{
			{A: "WA(2)", B: "ENS(2)", Set: SetTrainClean, Diff: -0.1, StdErr: 0.01},
			{A: "WA(2)", B: "ENS(2)", Set: SetIDTest, Diff: 0.004, StdErr: 0.005},
			{A: "WA(2)", B: "ENS(2)", Set: "ood_test", Diff: 0.05, StdErr: 0.01},
		},
	}
	o2 := observation(Observe(r), "Obs.2")
	if o2.Verdict != Holds || !strings.Contains(o2.Evidence, "train_clean") {
		t.Fatalf("Obs.2 %q (%s), want holds with the other sets listed", o2.Verdict, o2.Evidence)
	}
	r.Comparisons[1].Diff = -0.03
	if o2 := observation(Observe(r), "Obs.2"); o2.Verdict != DoesNotHold {
		t.Fatalf("Obs.2 with WA 3 points under ENS in distribution: %q", o2.Verdict)
	}
}

func TestWADiagSE(t *testing.T) {
	// Correctness per pair: A = 1,1,0,0; B = 1,0,1,0; W = 1,0,0,1.
	ps := func(ok ...bool) pairScores {
		var p pairScores
		for _, o := range ok {
			c := float32(0)
			if o {
				c = 1
			}
			p.chosen, p.rejected = append(p.chosen, c), append(p.rejected, 0.5)
		}
		return p
	}
	a, b, w := ps(true, true, false, false), ps(true, false, true, false), ps(true, false, false, true)
	if se := waDiagSE(a, b, a, 0); se != 0 {
		t.Fatalf("WA = A at λ=0: SE %v, want 0", se)
	}
	// λ = ½: differences 0, -½, -½, 1; mean 0; sample variance (0+¼+¼+1)/3 = ½; SE sqrt(½/4).
	if se, want := waDiagSE(a, b, w, 0.5), math.Sqrt(0.5/4); math.Abs(se-want) > 1e-12 {
		t.Fatalf("SE %v, want %v", se, want)
	}
}
