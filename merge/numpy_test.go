package merge

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// TestAgainstNumpy compares warm's merges with an independent numpy
// implementation (testdata/numpy_merge.py), bit for bit, on random
// checkpoints of several dtypes, weights and layouts.
func TestAgainstNumpy(t *testing.T) {
	const py = "/usr/bin/python3"
	if out, err := exec.Command(py, "-c", "import numpy").CombinedOutput(); err != nil {
		t.Skipf("needs %s with numpy (Debian python3-numpy): %v %s", py, err, out)
	}
	bf, f16, f32 := safetensors.BF16, safetensors.F16, safetensors.F32
	cases := []struct {
		in      safetensors.DType
		out     safetensors.DType
		weights []float64
		shards  int
	}{
		{f32, "", nil, 3},
		{f32, "", []float64{0.5, 2, 1.5}, 0},
		{bf, "", nil, 2},
		{bf, "", []float64{1, 0, 3}, 0},
		{f16, "", nil, 0},
		{f32, bf, nil, 0},
		{f32, f16, []float64{1, 1, 2}, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%s-%v-%d", c.in, c.out, c.weights, c.shards), func(t *testing.T) {
			dir := t.TempDir()
			var members []string
			for i := range 3 {
				members = append(members, writeMember(t, dir, fmt.Sprint(i), memberOpts{seed: uint64(60 + i), dtype: c.in, shards: c.shards, base: testBase}))
			}
			out := filepath.Join(dir, "warm")
			if _, err := Run(context.Background(), out, members, Options{Weights: c.weights, OutDType: c.out}); err != nil {
				t.Fatal(err)
			}
			ref := filepath.Join(dir, "numpy.safetensors")
			args := []string{"testdata/numpy_merge.py", "--out", ref}
			if c.weights != nil {
				var ws []string
				for _, w := range c.weights {
					ws = append(ws, fmt.Sprint(w))
				}
				args = append(args, "--weights", strings.Join(ws, ","))
			}
			if c.out != "" {
				args = append(args, "--dtype", string(c.out))
			}
			if b, err := exec.Command(py, append(args, members...)...).CombinedOutput(); err != nil {
				t.Fatalf("numpy: %v\n%s", err, b)
			}
			got, err := safetensors.OpenSet(out)
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			want, err := safetensors.OpenSet(ref)
			if err != nil {
				t.Fatalf("numpy output: %v", err)
			}
			defer want.Close()
			if len(got.Tensors()) != len(want.Tensors()) {
				t.Fatalf("%d tensors, numpy %d", len(got.Tensors()), len(want.Tensors()))
			}
			for _, wt := range want.Tensors() {
				gt, ok := got.Lookup(wt.Name)
				if !ok || gt.DType != wt.DType || !equalShape(gt.Shape, wt.Shape) {
					t.Fatalf("%s: %+v vs numpy %+v", wt.Name, gt, wt)
				}
				a, _ := got.ReadRaw(wt.Name, nil)
				b, _ := want.ReadRaw(wt.Name, nil)
				if !bytes.Equal(a, b) {
					i := 0
					for a[i] == b[i] {
						i++
					}
					t.Fatalf("%s differs from numpy at byte %d", wt.Name, i)
				}
			}
		})
	}
}
