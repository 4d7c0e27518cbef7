package model_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/optim"
	"github.com/warm-rm/warm/safetensors"
)

// pythonWithTorch returns /usr/bin/python3 when it can import torch, or
// skips the test saying why.
func pythonWithTorch(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skipf("skipping PyTorch parity: %s not found", py)
	}
	if out, err := exec.Command(py, "-c", "import torch, numpy").CombinedOutput(); err != nil {
		t.Skipf("skipping PyTorch parity: %s cannot import torch and numpy (apt install python3-torch python3-numpy): %v\n%s", py, err, out)
	}
	return py
}

// writeModel writes m's parameters as a Hugging Face safetensors file.
func writeModel(t *testing.T, m *model.Model, path string) {
	t.Helper()
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		ts = append(ts, f32Tensor(p.Name, p.Shape, p.Data))
	}
	if err := safetensors.WriteFile(path, ts, nil); err != nil {
		t.Fatal(err)
	}
}

func f32Tensor(name string, shape []int, data []float32) safetensors.Tensor {
	raw := make([]byte, 4*len(data))
	if err := safetensors.EncodeFloat32(safetensors.F32, data, raw); err != nil {
		panic(err)
	}
	return safetensors.Tensor{Spec: safetensors.Spec{Name: name, DType: safetensors.F32, Shape: int64s(shape)}, Data: raw}
}

func i32Tensor(name string, shape []int, data []int32) safetensors.Tensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	return safetensors.Tensor{Spec: safetensors.Spec{Name: name, DType: safetensors.I32, Shape: int64s(shape)}, Data: raw}
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, v := range s {
		out[i] = int64(v)
	}
	return out
}

// parityErrFloor is max|a−b| / max(max|b|, floor): the error relative to
// the tensor's scale.
func parityErrFloor(a, b []float32, floor float64) float64 {
	var diff, scale float64
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	scale = math.Max(scale, floor)
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// parityTol is the agreement asked of every tensor against PyTorch.
const parityTol = 1e-4

// TestTorchParity runs the same model, weights and inputs through the
// plain-PyTorch GPT-2 of testdata/torch_gpt2.py and compares logits, LM
// loss, rewards, Bradley–Terry loss, every parameter gradient of both
// losses, and the parameters after clip_grad_norm_ + AdamW.
func TestTorchParity(t *testing.T) {
	py := pythonWithTorch(t)
	c := model.Config{VocabSize: 64, NPositions: 24, NEmbd: 32, NLayer: 2, NHead: 4, PadID: 0, RewardHead: true}
	m := model.NewTestModel(t, c, 101)
	rng := rand.New(rand.NewPCG(102, 103))
	dir := t.TempDir()

	B, T := 3, 16
	lmTok := model.PaddedBatch(c, rng, []int{16, 16, 16}, T)
	lmTgt := make([]int32, B*T)
	lmMask := make([]float32, B*T)
	for i := range lmTgt {
		lmTgt[i] = int32(rng.IntN(c.VocabSize))
		if i%T >= 3 && i%T != 9 {
			lmMask[i] = 1
		}
	}
	lmMask[20] = 0.5
	lengths := []int{16, 5, 11, 9, 1, 14}
	btTok := model.PaddedBatch(c, rng, lengths, T)
	btLen := make([]int32, len(lengths))
	for i, n := range lengths {
		btLen[i] = int32(n)
	}
	const lr, wd, maxNorm = 1e-3, 0.1, 0.5
	cfgJSON, _ := json.Marshal(map[string]any{
		"n_embd": c.NEmbd, "n_head": c.NHead, "n_layer": c.NLayer, "layer_norm_epsilon": 1e-5,
		"embd_pdrop": 0, "attn_pdrop": 0, "resid_pdrop": 0,
		"lr": lr, "weight_decay": wd, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "max_norm": maxNorm,
	})
	// warm's Bradley–Terry gradients, computed first: PyTorch applies its
	// clip_grad_norm_ and AdamW to them.
	r0, err := m.RewardForward(btTok, len(lengths), T, lengths, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	P := len(lengths) / 2
	dr := make([]float32, len(r0))
	btLoss, err := model.BradleyTerry(r0[:P], r0[P:], dr[:P], dr[P:])
	if err != nil {
		t.Fatal(err)
	}
	rewards := append([]float32(nil), r0...)
	m.ZeroGrad()
	if err := m.RewardBackward(dr); err != nil {
		t.Fatal(err)
	}
	btGrad := append([]float32(nil), m.GradFlat...)
	gradTensors := []safetensors.Tensor{}
	for _, p := range m.Params() {
		gradTensors = append(gradTensors, f32Tensor("grad."+p.Name, p.Shape, p.Grad))
	}
	writeModel(t, m, filepath.Join(dir, "model.safetensors"))
	err = safetensors.WriteFile(filepath.Join(dir, "inputs.safetensors"), append([]safetensors.Tensor{
		i32Tensor("lm.tokens", []int{B, T}, lmTok),
		i32Tensor("lm.targets", []int{B, T}, lmTgt),
		f32Tensor("lm.mask", []int{B, T}, lmMask),
		i32Tensor("bt.tokens", []int{len(lengths), T}, btTok),
		i32Tensor("bt.lengths", []int{len(lengths)}, btLen),
	}, gradTensors...), map[string]string{"config": string(cfgJSON)})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/torch_gpt2.py", dir)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch_gpt2.py: %v\n%s", err, out)
	}
	f, err := safetensors.Open(filepath.Join(dir, "out.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read := func(name string) []float32 {
		x, err := f.ReadFloat32(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// floor: tensors whose exact value is zero (ln_f.bias's gradient under
	// the Bradley–Terry loss, as Σ dr = 0) are compared against 1% of the
	// largest gradient of the same loss, not their own float32 noise.
	floor := 0.0
	compare := func(name string, got []float32) {
		t.Helper()
		want := read(name)
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, PyTorch %d", name, len(got), len(want))
		}
		e := parityErrFloor(got, want, floor)
		if e > parityTol || math.IsNaN(e) {
			t.Errorf("%s: relative difference %.3g > %g", name, e, parityTol)
		} else if testing.Verbose() {
			t.Logf("%-50s %.2e", name, e)
		}
	}

	logits, err := m.Logits(lmTok, B, T)
	if err != nil {
		t.Fatal(err)
	}
	compare("lm.logits", logits)
	loss, err := m.LMForward(lmTok, B, T, lmTgt, lmMask, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	compare("lm.loss", []float32{loss})
	m.ZeroGrad()
	if err := m.LMBackward(); err != nil {
		t.Fatal(err)
	}
	floor = 0.01 * maxAbs(m.GradFlat)
	for _, p := range m.Params() {
		compare("lm.grad."+p.Name, p.Grad)
	}

	floor = 0
	compare("bt.rewards", rewards)
	compare("bt.loss", []float32{btLoss})
	copy(m.GradFlat, btGrad)
	floor = 0.01 * maxAbs(m.GradFlat)
	for _, p := range m.Params() {
		compare("bt.grad."+p.Name, p.Grad)
	}
	floor = 0
	opt, err := optim.NewAdamWForModel(m, optim.AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd})
	if err != nil {
		t.Fatal(err)
	}
	norm := optim.ClipGradNorm(m.GradFlat, maxNorm)
	if norm <= maxNorm {
		t.Fatalf("gradient norm %g does not exercise clipping", norm)
	}
	opt.Step(lr)
	for _, p := range m.Params() {
		compare("bt.updated."+p.Name, p.Data)
	}
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
