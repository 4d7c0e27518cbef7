package data

import (
	"context"
	"slices"
	"strings"
	"testing"
)

func TestEncodeSeqTruncation(t *testing.T) {
	enc := byteEncoder{}
	s, st, err := EncodeSeq(enc, "PROMPT", " resp", 20)
	if err != nil {
		t.Fatal(err)
	}
	if decode(s.Tokens) != "PROMPT resp$" || s.Start != 6 || st.Truncated() != 0 || st.Sequences != 1 {
		t.Errorf("untruncated: %q start %d %+v", decode(s.Tokens), s.Start, st)
	}
	s, st, _ = EncodeSeq(enc, "PROMPT", " resp", 9)
	if decode(s.Tokens) != "MPT resp$" || s.Start != 3 || st.PromptTruncated != 1 {
		t.Errorf("prompt-truncated: %q start %d %+v", decode(s.Tokens), s.Start, st)
	}
	s, st, _ = EncodeSeq(enc, "PROMPT", " response", 5)
	if decode(s.Tokens) != "onse$" || s.Start != 0 || st.ResponseTruncated != 1 {
		t.Errorf("response-truncated: %q start %d %+v", decode(s.Tokens), s.Start, st)
	}
	if _, _, err := EncodeSeq(enc, "a", "b", 1); err == nil {
		t.Error("maxLen 1: want error")
	}
}

func TestTokenizePairsAndBatch(t *testing.T) {
	pairs := []Pair{
		{ID: 10, Prompt: "Q1", Chosen: " yes", Rejected: " no"},
		{ID: 11, Prompt: "Q2 long prompt", Chosen: " a", Rejected: " bbbbbb", Flipped: true},
		{ID: 12, Prompt: "", Chosen: "x", Rejected: "yy"},
	}
	tp, st, err := TokenizePairs(context.Background(), byteEncoder{}, pairs, 12)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sequences != 6 || st.PromptTruncated != 2 || st.ResponseTruncated != 0 {
		t.Errorf("trunc stats %+v", st)
	}
	if got := decode(tp[1].Rejected.Tokens); got != "ompt bbbbbb$" || tp[1].Rejected.Start != 4 {
		t.Errorf("truncated rejected = %q", got)
	}
	b := MakePairBatch(tp, []int{2, 0, 1}, 0)
	if b.B != 3 || b.N != 6 || b.T != 12 || len(b.Tokens) != 6*12 {
		t.Fatalf("batch shape B %d N %d T %d len %d", b.B, b.N, b.T, len(b.Tokens))
	}
	wantRows := []string{
		"x$__________", "Q1 yes$_____", "ng prompt a$",
		"yy$_________", "Q1 no$______", "ompt bbbbbb$",
	}
	for r, w := range wantRows {
		if got := decode(b.Row(r)); got != w {
			t.Errorf("row %d = %q, want %q", r, got, w)
		}
		if b.Lengths[r] != len(w)-countByte(w, '_') || b.Row(r)[b.Lengths[r]-1] != 1 {
			t.Errorf("row %d: length %d does not end at EOS", r, b.Lengths[r])
		}
	}
	if !slices.Equal(b.IDs, []int{12, 10, 11}) || !slices.Equal(b.Flipped, []bool{false, false, true}) || !slices.Equal(b.Index, []int{2, 0, 1}) {
		t.Errorf("batch metadata %v %v %v", b.IDs, b.Flipped, b.Index)
	}
	if b.Starts[1] != 2 || b.Starts[4] != 2 || b.Starts[0] != 0 {
		t.Errorf("starts %v", b.Starts)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := TokenizePairs(ctx, byteEncoder{}, pairs, 12); err == nil {
		t.Error("cancelled context: want error")
	}
}

func countByte(s string, c byte) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
		}
	}
	return n
}

func TestEpochOrder(t *testing.T) {
	a := EpochOrder(100, 3, 0)
	if !slices.Equal(a, EpochOrder(100, 3, 0)) {
		t.Error("EpochOrder not deterministic")
	}
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != i {
			t.Fatal("EpochOrder is not a permutation")
		}
	}
	if slices.Equal(a, EpochOrder(100, 3, 1)) || slices.Equal(a, EpochOrder(100, 4, 0)) {
		t.Error("different epoch or seed gives the same order")
	}
	// No "seed + epoch" aliasing.
	if slices.Equal(EpochOrder(100, 1, 1), EpochOrder(100, 2, 0)) {
		t.Error("seed 1 epoch 1 equals seed 2 epoch 0")
	}
	bs, err := Batches(10, 4, 3, 0)
	if err != nil || len(bs) != 3 || len(bs[2]) != 2 || !slices.Equal(slices.Concat(bs...), EpochOrder(10, 3, 0)) {
		t.Errorf("Batches = %v, %v", bs, err)
	}
	if _, err := Batches(10, 0, 3, 0); err == nil || !strings.Contains(err.Error(), "batch size 0") {
		t.Errorf("batch size 0: %v, want an error naming it", err)
	}
}

func TestPackAndLMBatch(t *testing.T) {
	stream, err := PackTokens(context.Background(), byteEncoder{}, []string{"ab", "cde"})
	if err != nil {
		t.Fatal(err)
	}
	if decode(stream) != "ab$cde$" {
		t.Fatalf("stream %q", decode(stream))
	}
	if n := LMWindows(len(stream), 3); n != 2 {
		t.Fatalf("LMWindows = %d", n)
	}
	b, err := MakeLMBatch(stream, 3, []int{1, 0})
	if err != nil || decode(b.Inputs) != "cdeab$" || decode(b.Targets) != "de$b$c" {
		t.Errorf("LM batch inputs %q targets %q (%v)", decode(b.Inputs), decode(b.Targets), err)
	}
	if _, err := MakeLMBatch(stream, 3, []int{2}); err == nil || !strings.Contains(err.Error(), "window 2") {
		t.Errorf("window 2 of 2: %v, want an error naming it", err)
	}
	if LMWindows(1, 3) != 0 || LMWindows(4, 3) != 1 {
		t.Error("LMWindows edge cases")
	}
}

func TestSFTBatch(t *testing.T) {
	ex := []Example{{Prompt: "PP", Response: " r"}, {Prompt: "", Response: "xyz"}}
	seqs, _, err := TokenizeSFT(context.Background(), byteEncoder{}, ex, 10)
	if err != nil {
		t.Fatal(err)
	}
	b := MakeSFTBatch(seqs, []int{0, 1}, 0)
	if b.B != 2 || b.T != 4 {
		t.Fatalf("shape %d x %d", b.B, b.T)
	}
	if decode(b.Inputs) != "PP r"+"xyz_" || decode(b.Targets) != "P r$"+"yz$_" {
		t.Errorf("inputs %q targets %q", decode(b.Inputs), decode(b.Targets))
	}
	// Row 0: targets "P"(prompt) " " "r" "$" -> mask 0 1 1 1; row 1: y z $ pad -> 1 1 1 0.
	want := []float32{0, 1, 1, 1, 1, 1, 1, 0}
	if !slices.Equal(b.Mask, want) || b.Count != 6 {
		t.Errorf("mask %v count %d", b.Mask, b.Count)
	}
	got := SFTFromPairs([]Pair{{Prompt: "p", Chosen: " bad", Rejected: " good", Flipped: true}})
	if got[0].Response != " good" {
		t.Errorf("SFTFromPairs uses the flipped label: %+v", got[0])
	}
}
