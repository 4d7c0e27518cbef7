package model

import (
	"slices"
	"strings"
	"testing"
)

// TestContinuations: the teacher-forced layout and its guard.
func TestContinuations(t *testing.T) {
	c, err := NewContinuations([][]int32{{1, 2}, {3}}, [][]int32{{4}, {5, 6, 7}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.T != 3 || !slices.Equal(c.Tokens, []int32{1, 2, 0, 3, 5, 6}) || !slices.Equal(c.Targets, []int32{2, 4, 0, 5, 6, 7}) ||
		!slices.Equal(c.Mask, []float32{0, 1, 0, 1, 1, 1}) || !slices.Equal(c.First, []int{1, 0}) || !slices.Equal(c.N, []int{1, 3}) {
		t.Errorf("layout %+v", c)
	}
	if _, err := NewContinuations([][]int32{{1}, {}}, [][]int32{{2}, {3}}, 0); err == nil || !strings.Contains(err.Error(), "continuation 1") {
		t.Errorf("empty prompt: %v", err)
	}
}
