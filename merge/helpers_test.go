package merge

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

const testBase = "wfp1:base0000000000000000000000000000000000000000000000000000000000"

// tspec is a tensor of the test model.
type tspec struct {
	name  string
	shape []int64
	float bool
}

// testModel is a small GPT-2-like reward model: float weights of several
// shapes (one spans 3 merge chunks), a scalar, an empty tensor, and integer
// and bool buffers that must be copied.
var testModel = []tspec{
	{"score.weight", []int64{1, 16}, true},
	{"transformer.h.0.attn.c_attn.weight", []int64{16, 48}, true},
	{"transformer.h.0.ln_1.bias", []int64{16}, true},
	{"transformer.wte.weight", []int64{700, 1000}, true}, // 2.8 MB in F32
	{"transformer.h.0.attn.scale", nil, true},
	{"transformer.empty", []int64{0, 4}, true},
	{"transformer.position_ids", []int64{1, 64}, false},
	{"transformer.mask", []int64{8}, false},
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// memberOpts describes one generated member.
type memberOpts struct {
	seed    uint64
	dtype   safetensors.DType            // of float tensors
	dtypes  map[string]safetensors.DType // per-tensor override
	shards  int                          // 0 or 1: single file
	bare    bool                         // a bare .safetensors file, no config
	base    string                       // warm.base_fingerprint ("" for none)
	noFP    bool                         // no warm.fingerprint (foreign checkpoint)
	skip    string                       // tensor to leave out
	extra   bool                         // add an extra tensor
	shapes  map[string][]int64           // shape overrides
	values  map[string][]float64         // value overrides (float tensors)
	config  map[string]any               // config overrides
	tokenNL bool                         // tokenizer with a trailing newline
	intDiff bool                         // position_ids differ in one element
}

// genValues returns deterministic float values for a tensor of a member.
func genValues(seed uint64, name string, n int64) []float64 {
	h := uint64(0)
	for _, c := range name {
		h = h*131 + uint64(c)
	}
	rng := rand.New(rand.NewPCG(seed, h))
	v := make([]float64, n)
	for i := range v {
		switch rng.IntN(50) {
		case 0:
			v[i] = math.Copysign(0, -1)
		case 1:
			v[i] = rng.NormFloat64() * 1e-40 // subnormal in F32
		default:
			v[i] = rng.NormFloat64() * math.Ldexp(1, rng.IntN(8)-4)
		}
	}
	return v
}

func encodeVals(dt safetensors.DType, v []float64) []byte {
	out := make([]byte, len(v)*dt.Size())
	for i, x := range v {
		switch dt {
		case safetensors.F64:
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(x))
		case safetensors.F32:
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(float32(x)))
		case safetensors.BF16:
			binary.LittleEndian.PutUint16(out[2*i:], safetensors.Float32ToBF16(float32(x)))
		case safetensors.F16:
			binary.LittleEndian.PutUint16(out[2*i:], safetensors.Float32ToF16(float32(x)))
		}
	}
	return out
}

// intBuffer returns the (member-independent) data of an integer tensor.
func intBuffer(t tspec) (safetensors.DType, []byte) {
	n := numel(t.shape)
	if t.name == "transformer.mask" {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i % 2)
		}
		return safetensors.Bool, b
	}
	b := make([]byte, 8*n)
	for i := range n {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(i))
	}
	return safetensors.I64, b
}

// writeMember writes a member checkpoint under dir/name and returns its path.
func writeMember(t *testing.T, dir, name string, o memberOpts) string {
	t.Helper()
	if o.dtype == "" {
		o.dtype = safetensors.F32
	}
	var ts []safetensors.Tensor
	for _, s := range testModel {
		if s.name == o.skip {
			continue
		}
		shape := s.shape
		if sh, ok := o.shapes[s.name]; ok {
			shape = sh
		}
		if !s.float {
			dt, data := intBuffer(s)
			if o.intDiff && s.name == "transformer.position_ids" {
				data[8*37] ^= 1
			}
			ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: s.name, DType: dt, Shape: shape}, Data: data})
			continue
		}
		dt := o.dtype
		if d, ok := o.dtypes[s.name]; ok {
			dt = d
		}
		v := genValues(o.seed, s.name, numel(shape))
		if ov, ok := o.values[s.name]; ok {
			copy(v, ov)
		}
		ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: s.name, DType: dt, Shape: shape}, Data: encodeVals(dt, v)})
	}
	if o.extra {
		ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: "zz.extra", DType: o.dtype, Shape: []int64{2}}, Data: encodeVals(o.dtype, []float64{1, 2})})
	}
	md := map[string]string{"format": "pt", safetensors.MetaRole: "rm"}
	if o.base != "" {
		md[safetensors.MetaBaseFingerprint] = o.base
	}
	if !o.noFP {
		fp, err := safetensors.FingerprintTensors(ts)
		if err != nil {
			t.Fatal(err)
		}
		md[safetensors.MetaFingerprint] = fp
	}
	if o.bare {
		p := filepath.Join(dir, name+".safetensors")
		if err := safetensors.WriteFile(p, ts, md); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 2, "vocab_size": 700,
		"architectures": []string{"GPT2ForSequenceClassification"}, "num_labels": 1,
		"torch_dtype": map[safetensors.DType]string{safetensors.F32: "float32", safetensors.BF16: "bfloat16", safetensors.F16: "float16", safetensors.F64: "float64"}[o.dtype],
		"resid_pdrop": 0.1 * float64(o.seed%3), "_name_or_path": name, "layer_norm_epsilon": 1e-5}
	for k, v := range o.config {
		cfg[k] = v
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	os.WriteFile(filepath.Join(p, "config.json"), b, 0o644)
	tok := `{"version":"1.0","model":{"type":"BPE"}}`
	if o.tokenNL {
		tok += "\n"
	}
	os.WriteFile(filepath.Join(p, "tokenizer.json"), []byte(tok), 0o644)
	if o.shards <= 1 {
		if err := safetensors.WriteFile(filepath.Join(p, safetensors.SingleFileName), ts, md); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	groups := make([][]safetensors.Tensor, o.shards)
	wm := map[string]string{}
	var total int64
	for i, x := range ts {
		s := i % o.shards
		groups[s] = append(groups[s], x)
		wm[x.Name] = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, o.shards)
		total += int64(len(x.Data))
	}
	for s, g := range groups {
		if err := safetensors.WriteFile(filepath.Join(p, fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, o.shards)), g, md); err != nil {
			t.Fatal(err)
		}
	}
	b, _ = json.Marshal(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": wm})
	os.WriteFile(filepath.Join(p, safetensors.IndexFileName), b, 0o644)
	return p
}

// readTensor decodes one float tensor of a checkpoint as float64, with an
// independent decoder (no safetensors conversion code).
func readTensor(t *testing.T, path, name string) (safetensors.DType, []float64) {
	t.Helper()
	s, err := safetensors.OpenSet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, ok := s.Lookup(name)
	if !ok {
		t.Fatalf("%s: no tensor %q", path, name)
	}
	raw, err := s.ReadRaw(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return info.DType, decodeIndependent(info.DType, raw)
}

func decodeIndependent(dt safetensors.DType, raw []byte) []float64 {
	n := len(raw) / dt.Size()
	v := make([]float64, n)
	for i := range v {
		switch dt {
		case safetensors.F64:
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		case safetensors.F32:
			v[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		case safetensors.BF16:
			v[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16))
		case safetensors.F16:
			h := binary.LittleEndian.Uint16(raw[2*i:])
			sign := 1.0
			if h&0x8000 != 0 {
				sign = -1
			}
			e, m := int(h>>10&0x1f), float64(h&0x3ff)
			switch e {
			case 0:
				v[i] = sign * math.Ldexp(m, -24)
			case 31:
				v[i] = sign * math.Inf(1)
			default:
				v[i] = sign * math.Ldexp(1024+m, e-25)
			}
		}
	}
	return v
}

// reference computes the expected merge of one tensor: terms w·x rounded
// to float64, summed from the first non-zero-weight term, then rounded to
// float32 and to the output dtype.
func reference(members [][]float64, weights []float64, out safetensors.DType) []float64 {
	n := len(members[0])
	res := make([]float64, n)
	for i := range n {
		var acc float64
		first := true
		for m, x := range members {
			if weights[m] == 0 {
				continue
			}
			p := float64(x[i] * weights[m]) // no fused multiply-add
			if first {
				acc, first = p, false
			} else {
				acc += p
			}
		}
		if out == safetensors.F64 {
			res[i] = acc
			continue
		}
		res[i] = float64(float32(acc))
	}
	if out == safetensors.F32 || out == safetensors.F64 {
		return res
	}
	return decodeIndependent(out, encodeVals(out, res))
}

func sameBits(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) || (math.IsNaN(a) && math.IsNaN(b))
}

// listDir returns the names in dir, for checking that nothing was left.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
