package checkpoint

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/safetensors"
)

// goldenDir holds tiny random Llama-family checkpoints written by
// transformers and what transformers computed on them
// (model/llama/testdata/gen_golden.py regenerates it).
const goldenDir = "../model/llama/testdata/tiny"

type goldenModel struct {
	Name, Dir, Family, Head, Dtype string
	InputIDs                       [][]int32   `json:"input_ids"`
	Lengths                        []int       `json:"lengths"`
	RewardsHF                      []float64   `json:"rewards_hf"`
	RewardIndexHF                  []int       `json:"reward_index_hf"`
	RewardsRightmost               []float64   `json:"rewards_rightmost"`
	RewardIndexRightmost           []int       `json:"reward_index_rightmost"`
	ScoreAt                        [][]float64 `json:"score_at"`
	Logits                         [][][]float64
}

func readGolden(t *testing.T) []goldenModel {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Models []goldenModel }
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Models) == 0 {
		t.Fatal("golden.json lists no models")
	}
	return g.Models
}

// worstRel is the largest |got − want| / max(1, |want|) relClose saw in
// the current subtest, logged at its end (go test -v shows it).
var worstRel float64

// relClose reports |got − want| <= tol·max(1, |want|).
func relClose(got float32, want, tol float64) bool {
	d := math.Abs(float64(got)-want) / math.Max(1, math.Abs(want))
	worstRel = math.Max(worstRel, d)
	return d <= tol
}

// TestLlamaGolden loads every tiny checkpoint transformers wrote (F32,
// BF16, sharded) and compares warm's rewards and logits with the ones
// transformers computed: within 1e-4 relative, BF16 weights computed in
// float32 likewise.
func TestLlamaGolden(t *testing.T) {
	for _, g := range readGolden(t) {
		t.Run(g.Name, func(t *testing.T) {
			worstRel = 0
			defer func() { t.Logf("largest relative difference from transformers: %.2g", worstRel) }()
			m, err := LoadLlama(filepath.Join(goldenDir, g.Dir))
			if err != nil {
				t.Fatal(err)
			}
			if g.Head == "ForSequenceClassification" {
				checkGoldenRewards(t, m, g)
			} else {
				checkGoldenLogits(t, m, g)
			}
		})
	}
}

func checkGoldenRewards(t *testing.T, m *model.Llama, g goldenModel) {
	// The padded rows as transformers saw them: warm reads each at its
	// rightmost non-pad token.
	r, err := m.Rewards(g.InputIDs)
	if err != nil {
		t.Fatal(err)
	}
	differ := 0
	for b, seq := range g.InputIDs {
		if got := m.RewardIndex(seq); got != g.RewardIndexRightmost[b] {
			t.Errorf("sequence %d: reward index %d, want %d", b, got, g.RewardIndexRightmost[b])
		}
		if !relClose(r[b], g.RewardsRightmost[b], 1e-4) {
			t.Errorf("sequence %d: reward %v, transformers %v", b, r[b], g.RewardsRightmost[b])
		}
		// Where transformers' own rule (first pad − 1 at that commit) picks
		// the same token it gives the same reward; where it does not (a pad
		// id inside the sequence), warm must differ from it.
		if g.RewardIndexHF[b] == g.RewardIndexRightmost[b] {
			if !relClose(r[b], g.RewardsHF[b], 1e-4) {
				t.Errorf("sequence %d: reward %v, transformers' forward %v", b, r[b], g.RewardsHF[b])
			}
		} else {
			differ++
			if math.Abs(float64(r[b])-g.RewardsHF[b]) <= 1e-4*math.Max(1, math.Abs(g.RewardsHF[b])) {
				t.Errorf("sequence %d: the two reward rules pick different tokens but give the same reward %v", b, r[b])
			}
		}
	}
	if g.Name == "llama-seqcls" && differ == 0 {
		t.Error("no sequence tests the difference between the first-pad and rightmost-non-pad rules")
	}
	// Every position: the reward of each prefix is the score head there.
	for b, scores := range g.ScoreAt {
		for pos, want := range scores {
			prefix := g.InputIDs[b][:pos+1]
			if m.RewardIndex(prefix) != pos {
				continue
			}
			got, err := m.Rewards([][]int32{prefix})
			if err != nil {
				t.Fatal(err)
			}
			if !relClose(got[0], want, 1e-4) {
				t.Errorf("sequence %d position %d: score %v, transformers %v", b, pos, got[0], want)
			}
		}
	}
}

func checkGoldenLogits(t *testing.T, m *model.Llama, g goldenModel) {
	seqs := make([][]int32, len(g.InputIDs))
	for b, ids := range g.InputIDs {
		seqs[b] = ids[:g.Lengths[b]]
	}
	logits, err := m.Logits(seqs)
	if err != nil {
		t.Fatal(err)
	}
	V := m.Config.VocabSize
	row, bad := 0, 0
	for b, s := range seqs {
		for pos := range s {
			for v, want := range g.Logits[b][pos] {
				if got := logits[row*V+v]; !relClose(got, want, 1e-4) && bad < 5 {
					bad++
					t.Errorf("sequence %d position %d token %d: logit %v, transformers %v", b, pos, v, got, want)
				}
			}
			row++
		}
	}
	// Decoding with the KV cache gives the full pass's logits.
	kv, err := m.NewLlamaKVCache(len(seqs), m.Config.MaxPositions)
	if err != nil {
		t.Fatal(err)
	}
	prompts := make([][]int32, len(seqs))
	for b, s := range seqs {
		prompts[b] = s[:1]
	}
	step, err := kv.Prefill(prompts)
	if err != nil {
		t.Fatal(err)
	}
	for pos := 0; ; pos++ {
		next := make([]int32, len(seqs))
		live := false
		for b, s := range seqs {
			if pos < len(s) {
				for v, want := range g.Logits[b][pos] {
					if got := step[b*V+v]; !relClose(got, want, 1e-4) && bad < 5 {
						bad++
						t.Errorf("KV cache: sequence %d position %d token %d: logit %v, transformers %v", b, pos, v, got, want)
					}
				}
			}
			if pos+1 < len(s) {
				next[b], live = s[pos+1], true
			}
		}
		if !live {
			break
		}
		if step, err = kv.Step(next); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLlamaF16Weights converts a golden F32 checkpoint to F16 and checks
// that its matrices stay 16-bit in memory and score like the F32 model to
// F16's precision.
func TestLlamaF16Weights(t *testing.T) {
	src := filepath.Join(goldenDir, "qwen2-seqcls")
	dst := t.TempDir()
	set, err := safetensors.OpenSet(src)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, info := range set.Tensors() {
		v, err := set.ReadFloat32(info.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 2*len(v))
		if err := safetensors.EncodeFloat32(safetensors.F16, v, raw); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: info.Name, DType: safetensors.F16, Shape: info.Shape}, Data: raw})
	}
	set.Close()
	if err := safetensors.WriteFile(filepath.Join(dst, safetensors.SingleFileName), ts, nil); err != nil {
		t.Fatal(err)
	}
	conf, _ := os.ReadFile(filepath.Join(src, ConfigFile))
	os.WriteFile(filepath.Join(dst, ConfigFile), conf, 0o644)
	m16, err := LoadLlama(dst)
	if err != nil {
		t.Fatal(err)
	}
	if m16.W.Layers[0].Q.Half != kernels.F16 || m16.W.Layers[0].Q.F32 != nil {
		t.Fatal("F16 matrices were not kept 16-bit")
	}
	m32, err := LoadLlama(src)
	if err != nil {
		t.Fatal(err)
	}
	if float64(m16.WeightBytes()) > 0.55*float64(m32.WeightBytes()) { // vectors stay float32
		t.Errorf("F16 weights take %d bytes, F32 %d", m16.WeightBytes(), m32.WeightBytes())
	}
	seqs := [][]int32{{5, 9, 17, 33, 65}, {100, 3, 4}}
	a, err := m16.Rewards(seqs)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m32.Rewards(seqs)
	for i := range a {
		if !relClose(a[i], float64(b[i]), 1e-2) {
			t.Errorf("reward %d: F16 weights %v, F32 %v", i, a[i], b[i])
		}
	}
}

// TestLlamaGoldenBF16Dot scores the BF16 reward models with BF16 dot
// products (kernels.SetBF16Dot): the activations rounded to bfloat16, so the
// rewards move away from transformers' float32 ones, by how much is what
// this test bounds (and logs); and they must move, or the path was not
// taken.
func TestLlamaGoldenBF16Dot(t *testing.T) {
	if !kernels.BF16DotSupported() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	tested := 0
	for _, g := range readGolden(t) {
		if g.Head != "ForSequenceClassification" || g.Dtype != "bfloat16" {
			continue
		}
		t.Run(g.Name, func(t *testing.T) {
			m, err := LoadLlama(filepath.Join(goldenDir, g.Dir))
			if err != nil {
				t.Fatal(err)
			}
			if err := kernels.SetBF16Dot(true); err != nil {
				t.Fatal(err)
			}
			r, err := m.Rewards(g.InputIDs)
			kernels.SetBF16Dot(false)
			if err != nil {
				t.Fatal(err)
			}
			worst, moved := 0.0, false
			for b, want := range g.RewardsRightmost {
				d := math.Abs(float64(r[b])-want) / math.Max(1, math.Abs(want))
				worst = math.Max(worst, d)
				moved = moved || d > 1e-5
			}
			t.Logf("largest relative difference from transformers' float32: %.2g", worst)
			if worst > 0.1 {
				t.Errorf("BF16 dot products moved a reward by %.3g relative (bound 0.1)", worst)
			}
			if !moved {
				t.Error("the rewards did not change: the BF16 dot products were not used")
			}
		})
		tested++
	}
	if tested == 0 {
		t.Fatal("golden.json has no BF16 reward model")
	}
}
