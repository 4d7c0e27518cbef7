package merge

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// checkMerge compares every tensor of out with the reference merge of the
// members, bit for bit.
func checkMerge(t *testing.T, out string, members []string, weights []float64, outDType safetensors.DType) {
	t.Helper()
	for _, s := range testModel {
		if !s.float {
			continue
		}
		var vals [][]float64
		for _, m := range members {
			_, v := readTensor(t, m, s.name)
			vals = append(vals, v)
		}
		dt, got := readTensor(t, out, s.name)
		want := outDType
		if want == "" {
			want, _ = readTensor(t, members[0], s.name)
		}
		if dt != want {
			t.Fatalf("%s: dtype %s, want %s", s.name, dt, want)
		}
		exp := reference(vals, weights, dt)
		if len(got) != len(exp) {
			t.Fatalf("%s: %d elements, want %d", s.name, len(got), len(exp))
		}
		for i := range got {
			if !sameBits(got[i], exp[i]) {
				t.Fatalf("%s[%d] = %v, want %v", s.name, i, got[i], exp[i])
			}
		}
	}
}

func TestUniformMerge(t *testing.T) {
	dir := t.TempDir()
	members := []string{
		writeMember(t, dir, "a", memberOpts{seed: 1, shards: 3, base: testBase}),
		writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase}),
		writeMember(t, dir, "c", memberOpts{seed: 3, shards: 2, base: testBase}),
	}
	out := filepath.Join(dir, "out")
	var calls int
	var last int64
	res, err := Run(context.Background(), out, members, Options{Threads: 3, Progress: func(done, total int64) {
		calls++
		if done < last || done > total {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	checkMerge(t, out, members, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, "")
	if calls == 0 || last != res.BytesRead {
		t.Errorf("progress: %d calls, last %d, read %d", calls, last, res.BytesRead)
	}
	// Integer and bool buffers are copied.
	s, err := safetensors.OpenSet(out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, ts := range testModel {
		if ts.float {
			continue
		}
		dt, want := intBuffer(ts)
		got, _ := s.ReadRaw(ts.name, nil)
		if info, _ := s.Lookup(ts.name); info.DType != dt || !bytes.Equal(got, want) {
			t.Errorf("%s not copied", ts.name)
		}
	}
	// Layout of the first member: 3 shards with an index.
	if !s.Sharded() || len(s.Files) != 3 || res.Shards != 3 {
		t.Errorf("layout: sharded %v, %d files", s.Sharded(), len(s.Files))
	}
	// Metadata.
	md := s.Metadata
	if md[safetensors.MetaRole] != "warm" || md[safetensors.MetaMemberCount] != "3" || md[safetensors.MetaBaseFingerprint] != testBase || md["format"] != "pt" {
		t.Errorf("metadata %v", md)
	}
	fp, err := s.Fingerprint(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if md[safetensors.MetaFingerprint] != fp || res.Fingerprint != fp {
		t.Errorf("stored fingerprint %s, result %s, recomputed %s", md[safetensors.MetaFingerprint], res.Fingerprint, fp)
	}
	info, n, err := ReadInfo(md)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || info.Method != MethodUniform || len(info.Members) != 3 || info.Accumulate != AccumulateF64 || info.Version == "" {
		t.Errorf("info %+v", info)
	}
	for i, m := range info.Members {
		ms, _ := safetensors.OpenSet(members[i])
		if m.Path != members[i] || m.Fingerprint != ms.Metadata[safetensors.MetaFingerprint] || m.Count != 1 {
			t.Errorf("member record %+v", m)
		}
		ms.Close()
	}
	// Config and tokenizer copied from the first member.
	for _, f := range []string{"config.json", "tokenizer.json"} {
		a, _ := os.ReadFile(filepath.Join(members[0], f))
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not copied: %v", f, err)
		}
	}
	// Nothing else left beside the output.
	if names := listDir(t, dir); strings.Join(names, ",") != "a,b,c,out" {
		t.Errorf("directory holds %v", names)
	}
}

func TestDTypes(t *testing.T) {
	bf, f16, f32, f64 := safetensors.BF16, safetensors.F16, safetensors.F32, safetensors.F64
	cases := []struct {
		name   string
		in     []safetensors.DType
		out    safetensors.DType
		mixed  bool
		shards int
	}{
		{"BF16", []safetensors.DType{bf, bf, bf}, "", false, 2},
		{"F16", []safetensors.DType{f16, f16, f16}, "", false, 0},
		{"F32 to BF16", []safetensors.DType{f32, f32, f32}, bf, false, 0},
		{"F32 to F16", []safetensors.DType{f32, f32}, f16, false, 0},
		{"BF16 to F32", []safetensors.DType{bf, bf}, f32, false, 0},
		{"mixed to F32", []safetensors.DType{f32, bf, f16}, f32, true, 0},
		{"mixed to BF16", []safetensors.DType{bf, f32}, bf, true, 0},
		{"F64", []safetensors.DType{f64, f64}, "", false, 0},
		{"F32 to F64", []safetensors.DType{f32, f32, f32}, f64, false, 0},
		{"mixed F64 to F32", []safetensors.DType{f64, f32}, f32, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var members []string
			var w []float64
			for i, dt := range c.in {
				members = append(members, writeMember(t, dir, string(rune('a'+i)), memberOpts{seed: uint64(10 + i), dtype: dt, shards: c.shards, base: testBase}))
				w = append(w, 1/float64(len(c.in)))
			}
			out := filepath.Join(dir, "out")
			_, err := Run(context.Background(), out, members, Options{OutDType: c.out, AllowMixedDTypes: c.mixed})
			if err != nil {
				t.Fatal(err)
			}
			checkMerge(t, out, members, w, c.out)
			if c.out != "" && c.out != c.in[0] {
				cfg, _ := os.ReadFile(filepath.Join(out, "config.json"))
				if !strings.Contains(string(cfg), `"torch_dtype": "`+torchDTypeNames[c.out]+`"`) {
					t.Errorf("config torch_dtype not updated: %s", cfg)
				}
			}
		})
	}
}

func TestMixedNeedsFlagAndDType(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, dtype: safetensors.BF16, base: testBase, config: map[string]any{"torch_dtype": "float32"}})
	err := Check([]string{a, b}, Options{})
	if err == nil || !strings.Contains(err.Error(), "dtype BF16 differs") {
		t.Fatalf("mixed dtypes without the flag: %v", err)
	}
	err = Check([]string{a, b}, Options{AllowMixedDTypes: true})
	if err == nil || !strings.Contains(err.Error(), "choose an output dtype") {
		t.Fatalf("mixed dtypes without an output dtype: %v", err)
	}
}

func TestAccumulateF32(t *testing.T) {
	dir := t.TempDir()
	var members []string
	for i := range 4 {
		members = append(members, writeMember(t, dir, string(rune('a'+i)), memberOpts{seed: uint64(i), base: testBase}))
	}
	out := filepath.Join(dir, "out")
	if _, err := Run(context.Background(), out, members, Options{Accumulate: AccumulateF32}); err != nil {
		t.Fatal(err)
	}
	// Reference in float32 arithmetic.
	name := "transformer.wte.weight"
	var vals [][]float64
	for _, m := range members {
		_, v := readTensor(t, m, name)
		vals = append(vals, v)
	}
	_, got := readTensor(t, out, name)
	w := float32(0.25)
	for i := range got {
		acc := float32(vals[0][i]) * w
		for m := 1; m < 4; m++ {
			acc += float32(float32(vals[m][i]) * w)
		}
		if !sameBits(got[i], float64(acc)) {
			t.Fatalf("[%d] = %v, want %v", i, got[i], acc)
		}
	}
}

func TestWeightsHonoured(t *testing.T) {
	dir := t.TempDir()
	members := []string{
		writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}),
		writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase}),
		writeMember(t, dir, "c", memberOpts{seed: 3, base: testBase}),
	}
	out := filepath.Join(dir, "out")
	res, err := Run(context.Background(), out, members, Options{Weights: []float64{3, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	checkMerge(t, out, members, []float64{0.75, 0.25, 0}, "")
	if res.Method != MethodWeighted || res.Weights[0] != 0.75 || res.Weights[2] != 0 {
		t.Errorf("result %+v", res)
	}
	for _, bad := range [][]float64{{1, 1}, {1, -1, 1}, {0, 0, 0}, {math.NaN(), 1, 1}, {math.Inf(1), 1, 1}} {
		if err := Check(members, Options{Weights: bad}); err == nil {
			t.Errorf("weights %v accepted", bad)
		}
	}
}

func TestLambdaEndpoints(t *testing.T) {
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16, safetensors.F16} {
		t.Run(string(dt), func(t *testing.T) {
			dir := t.TempDir()
			a := writeMember(t, dir, "a", memberOpts{seed: 1, dtype: dt, base: testBase})
			b := writeMember(t, dir, "b", memberOpts{seed: 2, dtype: dt, base: testBase})
			for _, l := range []float64{0, 1, 0.3} {
				out := filepath.Join(dir, "out")
				lam := l
				res, err := Run(context.Background(), out, []string{a, b}, Options{Lambda: &lam})
				if err != nil {
					t.Fatal(err)
				}
				if res.Method != MethodInterpolate {
					t.Errorf("method %s", res.Method)
				}
				checkMerge(t, out, []string{a, b}, []float64{1 - l, l}, "")
				if l == 0 || l == 1 {
					end := map[float64]string{0: a, 1: b}[l]
					for _, s := range testModel {
						x, _ := readRaw(t, end, s.name)
						y, _ := readRaw(t, out, s.name)
						if !bytes.Equal(x, y) {
							t.Fatalf("lambda %v: %s differs from the endpoint", l, s.name)
						}
					}
					fa, _ := safetensors.OpenSet(end)
					if res.Fingerprint != fa.Metadata[safetensors.MetaFingerprint] {
						t.Errorf("lambda %v: fingerprint %s differs from the endpoint's", l, res.Fingerprint)
					}
					fa.Close()
				}
				os.RemoveAll(out)
			}
			for _, bad := range []float64{-0.1, 1.5, math.NaN()} {
				if err := Check([]string{a, b}, Options{Lambda: &bad}); err == nil {
					t.Errorf("lambda %v accepted", bad)
				}
			}
		})
	}
}

func readRaw(t *testing.T, path, name string) ([]byte, error) {
	t.Helper()
	s, err := safetensors.OpenSet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return s.ReadRaw(name, nil)
}

func TestRunningUpdate(t *testing.T) {
	dir := t.TempDir()
	var members []string
	for i := range 6 {
		members = append(members, writeMember(t, dir, string(rune('a'+i)), memberOpts{seed: uint64(20 + i), base: testBase, shards: i % 2 * 2}))
	}
	once := filepath.Join(dir, "once")
	if _, err := Run(context.Background(), once, members, Options{}); err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(dir, "inc")
	if _, err := Run(context.Background(), inc, members[:3], Options{}); err != nil {
		t.Fatal(err)
	}
	prev := map[string][]float64{}
	for _, s := range testModel {
		if s.float {
			_, prev[s.name] = readTensor(t, inc, s.name)
		}
	}
	// In place: --into inc -o inc.
	res, err := Run(context.Background(), inc, members[3:], Options{Into: inc})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodRunning || res.MemberCount != 6 || res.Weights[0] != 0.5 {
		t.Errorf("result %+v", res)
	}
	ulp := func(x float64) float64 {
		f := float32(math.Abs(x))
		return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
	}
	for _, s := range testModel {
		if !s.float {
			continue
		}
		_, a := readTensor(t, once, s.name)
		_, b := readTensor(t, inc, s.name)
		for i := range a {
			// Within float rounding: the 3-member merge was rounded to F32
			// (half an ulp of its value, weighted by 1/2), and each result
			// is rounded once more.
			bound := 0.5*0.5*ulp(prev[s.name][i]) + 0.5*ulp(a[i]) + 0.5*ulp(b[i])
			if math.Abs(a[i]-b[i]) > bound {
				t.Fatalf("%s[%d]: one-shot %v, incremental %v, bound %v", s.name, i, a[i], b[i], bound)
			}
		}
	}
	s, _ := safetensors.OpenSet(inc)
	info, n, err := ReadInfo(s.Metadata)
	s.Close()
	if err != nil || n != 6 || info.Previous == nil || info.Previous.Method != MethodUniform || len(info.Previous.Members) != 3 || info.Members[0].Count != 3 {
		t.Errorf("running metadata: %v %+v", err, info)
	}
	// A second update stacks.
	res, err = Run(context.Background(), filepath.Join(dir, "inc2"), members[:1], Options{Into: inc})
	if err != nil || res.MemberCount != 7 {
		t.Fatalf("second update: %v %+v", err, res)
	}
	// Only uniform merges can be updated; weights and lambda do not combine.
	weighted := filepath.Join(dir, "weighted")
	Run(context.Background(), weighted, members[:2], Options{Weights: []float64{1, 2}})
	if _, err := Run(context.Background(), filepath.Join(dir, "x"), members[2:3], Options{Into: weighted}); err == nil || !strings.Contains(err.Error(), "needs a uniform one") {
		t.Errorf("update of a weighted merge: %v", err)
	}
	if _, err := Run(context.Background(), filepath.Join(dir, "x"), members[2:3], Options{Into: members[0]}); err == nil || !strings.Contains(err.Error(), "not a merge") {
		t.Errorf("update of a plain checkpoint: %v", err)
	}
	if err := Check(members[2:3], Options{Into: inc, Weights: []float64{1}}); err == nil {
		t.Error("into with weights accepted")
	}
}

func TestDeterministicAndThreadIndependent(t *testing.T) {
	dir := t.TempDir()
	members := []string{
		writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, dtype: safetensors.BF16}),
		writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, dtype: safetensors.BF16}),
	}
	var outs [][]byte
	for _, threads := range []int{1, 4, 1} {
		out := filepath.Join(dir, "out")
		if _, err := Run(context.Background(), out, members, Options{Threads: threads, NoSync: true}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, safetensors.SingleFileName))
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
		os.RemoveAll(out)
	}
	if !bytes.Equal(outs[0], outs[1]) || !bytes.Equal(outs[0], outs[2]) {
		t.Error("outputs differ between runs or thread counts")
	}
}

func TestShardSizeAndFileOutput(t *testing.T) {
	dir := t.TempDir()
	members := []string{
		writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, bare: true}),
		writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, bare: true}),
	}
	single := filepath.Join(dir, "merged.safetensors")
	res, err := Run(context.Background(), single, members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(single); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("single-file output: %v", err)
	}
	sharded := filepath.Join(dir, "sharded")
	res2, err := Run(context.Background(), sharded, members, Options{ShardSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Shards != 2 || res2.Fingerprint != res.Fingerprint {
		t.Errorf("sharded: %d shards, fingerprint %s vs %s", res2.Shards, res2.Fingerprint, res.Fingerprint)
	}
	s, err := safetensors.OpenSet(sharded)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Files {
		if f.DataSize() > 1<<20 && len(f.Tensors) > 1 {
			t.Errorf("shard %s holds %d bytes in %d tensors", f.Path, f.DataSize(), len(f.Tensors))
		}
	}
	s.Close()
	checkMerge(t, sharded, members, []float64{0.5, 0.5}, "")
	if _, err := Run(context.Background(), filepath.Join(dir, "x.safetensors"), members, Options{ShardSize: 1 << 20}); err == nil {
		t.Error("sharded merge into a single file accepted")
	}
	if names := listDir(t, dir); strings.Join(names, ",") != "a.safetensors,b.safetensors,merged.safetensors,sharded" {
		t.Errorf("left: %v", names)
	}
}

func TestOverwrite(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase})
	out := filepath.Join(dir, "out")
	r1, err := Run(context.Background(), out, []string{a, b}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), out, []string{a, b}, Options{Weights: []float64{1, 3}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("existing output: %v", err)
	}
	r2, err := Run(context.Background(), out, []string{a, b}, Options{Weights: []float64{1, 3}, Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := safetensors.OpenSet(out)
	if s.Metadata[safetensors.MetaFingerprint] != r2.Fingerprint || r1.Fingerprint == r2.Fingerprint {
		t.Error("output not replaced")
	}
	s.Close()
	// Never replace something that is not a checkpoint.
	notCkpt := filepath.Join(dir, "notes")
	os.Mkdir(notCkpt, 0o755)
	os.WriteFile(filepath.Join(notCkpt, "x.txt"), []byte("keep"), 0o644)
	if _, err := Run(context.Background(), notCkpt, []string{a, b}, Options{Overwrite: true}); err == nil || !strings.Contains(err.Error(), "not a safetensors checkpoint") {
		t.Fatalf("replacing a non-checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(notCkpt, "x.txt")); err != nil {
		t.Error("non-checkpoint touched")
	}
	if _, err := Run(context.Background(), a, []string{a, b}, Options{Overwrite: true}); err == nil || !strings.Contains(err.Error(), "is also member 1") {
		t.Errorf("output = member: %v", err)
	}
	if names := listDir(t, dir); strings.Join(names, ",") != "a,b,notes,out" {
		t.Errorf("left: %v", names)
	}
}

func TestForeignCheckpoints(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, noFP: true})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, noFP: true})
	err := Check([]string{a, b}, Options{})
	if err == nil || !strings.Contains(err.Error(), "member 1") || !strings.Contains(err.Error(), "warm.base_fingerprint") {
		t.Fatalf("foreign members without the flag: %v", err)
	}
	out := filepath.Join(dir, "out")
	res, err := Run(context.Background(), out, []string{a, b}, Options{IgnoreBaseFingerprint: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Members {
		if !strings.HasPrefix(m.Fingerprint, safetensors.HeaderIdentityPrefix) {
			t.Errorf("foreign member identity %q", m.Fingerprint)
		}
	}
	s, _ := safetensors.OpenSet(out)
	defer s.Close()
	if _, ok := s.Metadata[safetensors.MetaBaseFingerprint]; ok {
		t.Error("output claims a base fingerprint")
	}
	var info Info
	json.Unmarshal([]byte(s.Metadata[safetensors.MetaMerge]), &info)
	if len(info.Members) != 2 {
		t.Errorf("info %+v", info)
	}
}

func TestCheckReadsNoData(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	nan := make([]float64, 16)
	nan[5] = math.NaN()
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, values: map[string][]float64{"score.weight": nan}})
	if err := Check([]string{a, b}, Options{}); err != nil {
		t.Fatalf("check read data: %v", err)
	}
	if _, err := Run(context.Background(), filepath.Join(dir, "out"), []string{a, b}, Options{}); err == nil {
		t.Fatal("NaN merged")
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Run(ctx, filepath.Join(dir, "out"), []string{a, b}, Options{Progress: func(done, total int64) {
		if done > total/3 {
			cancel()
		}
	}})
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled merge: %v", err)
	}
	if names := listDir(t, dir); strings.Join(names, ",") != "a,b" {
		t.Errorf("left: %v", names)
	}
}

func TestVerifyMembers(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, noFP: true})
	res, err := Run(context.Background(), filepath.Join(dir, "out"), []string{a, b}, Options{VerifyMembers: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Members[1].Fingerprint, safetensors.FingerprintPrefix) {
		t.Errorf("foreign member recorded as %s, want its content fingerprint", res.Members[1].Fingerprint)
	}
	// Change one byte of a's weights behind its fingerprint's back.
	p := filepath.Join(a, safetensors.SingleFileName)
	data, _ := os.ReadFile(p)
	data[len(data)-5] ^= 0x10
	os.WriteFile(p, data, 0o644)
	_, err = Run(context.Background(), filepath.Join(dir, "out2"), []string{a, b}, Options{VerifyMembers: true})
	if err == nil || !strings.Contains(err.Error(), "member 1") || !strings.Contains(err.Error(), "does not match its content") {
		t.Fatalf("tampered member: %v", err)
	}
	if names := listDir(t, dir); strings.Join(names, ",") != "a,b,out" {
		t.Errorf("left: %v", names)
	}
}

func TestFingerprintModes(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, shards: 2})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, shards: 2})
	var fps []string
	for _, mode := range []FingerprintMode{FingerprintAlways, FingerprintNever, ""} {
		out := filepath.Join(dir, "out-"+string(mode))
		res, err := Run(context.Background(), out, []string{a, b}, Options{Fingerprint: mode})
		if err != nil {
			t.Fatal(err)
		}
		s, err := safetensors.OpenSet(out)
		if err != nil {
			t.Fatal(err)
		}
		stored, ok := s.Metadata[safetensors.MetaFingerprint]
		s.Close()
		if (mode == FingerprintNever) != (res.Fingerprint == "") || (mode == FingerprintNever) == ok || stored != res.Fingerprint {
			t.Errorf("mode %q: result %q, stored %q (%v)", mode, res.Fingerprint, stored, ok)
		}
		fps = append(fps, res.Fingerprint)
	}
	if fps[0] != fps[2] {
		t.Error("auto and always disagree on a small output")
	}
	if err := Check([]string{a, b}, Options{Fingerprint: "sometimes"}); err == nil {
		t.Error("bad fingerprint mode accepted")
	}
}

// TestMethodSpelling checks that the typed Method keeps the spellings
// stored in "warm.merge" metadata, and that ReadInfo refuses others.
func TestMethodSpelling(t *testing.T) {
	for _, m := range []Method{MethodUniform, MethodWeighted, MethodInterpolate, MethodRunning} {
		got, err := ParseMethod(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMethod(%q) = %q, %v", m, got, err)
		}
	}
	b, err := json.Marshal(Info{Method: MethodInterpolate})
	if err != nil || !bytes.HasPrefix(b, []byte(`{"method":"interpolate",`)) {
		t.Errorf("Info JSON %s, %v", b, err)
	}
	if _, err := ParseMethod("ties"); err == nil {
		t.Error("ParseMethod accepted an unknown method")
	}
	md := map[string]string{safetensors.MetaMerge: `{"method":"ties"}`, safetensors.MetaMemberCount: "2"}
	if _, _, err := ReadInfo(md); err == nil || !strings.Contains(err.Error(), `unknown merge method "ties"`) {
		t.Errorf("ReadInfo of an unknown method: %v", err)
	}
}
