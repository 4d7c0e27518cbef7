package merge

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/safetensors"
)

// Result summarises a finished merge.
type Result struct {
	// Output is the path written.
	Output string `json:"output"`
	// Method and Weights are as recorded in the output's "warm.merge".
	Method  string    `json:"method"`
	Weights []float64 `json:"weights"`
	// Members identify the inputs.
	Members []MemberRecord `json:"members"`
	// MemberCount is the output's "warm.member_count".
	MemberCount int `json:"member_count"`
	// Fingerprint is the output's content fingerprint ("warm.fingerprint").
	Fingerprint string `json:"fingerprint"`
	// Tensors and Shards count the output's tensors and files.
	Tensors int `json:"tensors"`
	Shards  int `json:"shards"`
	// BytesRead and BytesWritten count tensor data.
	BytesRead    int64 `json:"bytes_read"`
	BytesWritten int64 `json:"bytes_written"`
	// Duration is the wall time of the merge, checks included.
	Duration time.Duration `json:"duration_ns"`
}

// Run checks the members (NewPlan) and merges them into out. out is a
// checkpoint directory, or a single file when it ends in ".safetensors".
// The output appears atomically: it is written in a temporary directory
// beside out and renamed into place, so an error, a cancelled ctx or a kill
// at any moment leaves no output, or the previous one when replacing.
func Run(ctx context.Context, out string, members []string, opts Options) (Result, error) {
	start := time.Now()
	p, err := NewPlan(members, opts)
	if err != nil {
		return Result{}, err
	}
	defer p.Close()
	res, err := p.Run(ctx, out)
	res.Duration = time.Since(start)
	return res, err
}

// fingerprintPlaceholder reserves the header bytes of the output
// fingerprint, written once all data has been hashed.
var fingerprintPlaceholder = safetensors.FingerprintPrefix + strings.Repeat("0", 64)

// Run merges the planned members into out (see the package-level Run).
func (p *Plan) Run(ctx context.Context, out string) (res Result, err error) {
	start := time.Now()
	out = filepath.Clean(out)
	asFile := strings.HasSuffix(out, ".safetensors")
	if asFile && len(p.Shards) > 1 {
		return res, fmt.Errorf("output %s is a single file but the merge has %d shards: give a directory, or a shard size larger than the model", out, len(p.Shards))
	}
	if asFile && len(p.Members[0].aux) > 0 {
		return res, fmt.Errorf("output %s is a single file but the members have config and tokenizer files: give a directory to keep them", out)
	}
	replace := p.opts.Overwrite
	for i, m := range p.Members {
		if !samePath(m.Path, out) {
			continue
		}
		if i == 0 && p.opts.Into != "" {
			replace = true // merge --into X -o X updates X in place
			continue
		}
		return res, fmt.Errorf("output %s is also %s", out, m.Label)
	}
	if _, err := os.Lstat(out); err == nil {
		if !replace {
			return res, fmt.Errorf("output %s already exists (choose another path, or replace it with --force)", out)
		}
		s, err := safetensors.OpenSet(out)
		if err != nil {
			return res, fmt.Errorf("refusing to replace %s, which is not a safetensors checkpoint: %w", out, err)
		}
		s.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("output %s: %w", out, err)
	}
	parent, base := filepath.Dir(out), filepath.Base(out)
	if st, err := os.Stat(parent); err != nil {
		return res, fmt.Errorf("output directory: %w", err)
	} else if !st.IsDir() {
		return res, fmt.Errorf("output directory %s is not a directory", parent)
	}
	tmp, err := atomicdir.TempDir(parent, base)
	if err != nil {
		return res, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()

	if p.opts.VerifyMembers {
		if err := p.verifyMembers(ctx); err != nil {
			return res, err
		}
	}
	info := p.info()
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return res, err
	}
	md := map[string]string{
		safetensors.MetaFormat:      "pt",
		safetensors.MetaRole:        "warm",
		safetensors.MetaMerge:       string(infoJSON),
		safetensors.MetaMemberCount: strconv.Itoa(p.MemberCount),
	}
	hash := p.opts.Fingerprint == FingerprintAlways || (p.opts.Fingerprint == FingerprintAuto && p.OutBytes <= AutoFingerprintBytes)
	if hash {
		md[safetensors.MetaFingerprint] = fingerprintPlaceholder
	}
	if p.BaseFingerprint != "" {
		md[safetensors.MetaBaseFingerprint] = p.BaseFingerprint
	}
	shardPaths := make([]string, len(p.Shards))
	for i, s := range p.Shards {
		shardPaths[i] = filepath.Join(tmp, s)
	}
	if asFile {
		shardPaths[0] = filepath.Join(tmp, base)
	}
	specs := make([][]safetensors.Spec, len(p.Shards))
	for _, t := range p.Tensors {
		specs[t.Shard] = append(specs[t.Shard], safetensors.Spec{Name: t.Name, DType: t.OutDType, Shape: t.Shape})
	}
	writers := make([]*safetensors.Writer, len(p.Shards))
	defer func() {
		for _, w := range writers {
			if w != nil {
				w.Abort()
			}
		}
	}()
	for i := range writers {
		if writers[i], err = safetensors.Create(shardPaths[i], specs[i], md); err != nil {
			return res, err
		}
		writers[i].SetSync(!p.opts.NoSync)
	}

	fp, err := p.stream(ctx, writers, hash)
	if err != nil {
		return res, err
	}
	for _, w := range writers {
		if hash {
			md[safetensors.MetaFingerprint] = fp
			if err := w.SetMetadata(md); err != nil {
				return res, err
			}
		}
		if err := w.Commit(); err != nil {
			return res, err
		}
	}
	if len(p.Shards) > 1 {
		if err := p.writeIndex(tmp); err != nil {
			return res, err
		}
	}
	for _, f := range p.Members[0].aux {
		data := f.data
		if f.name == ConfigFile && p.outDType != "" {
			if data, err = outputConfig(data, p.outDType); err != nil {
				return res, fmt.Errorf("%s: %w", p.Members[0].Label, err)
			}
		}
		if err := writeFileSync(filepath.Join(tmp, f.name), data, !p.opts.NoSync); err != nil {
			return res, err
		}
	}
	if !p.opts.NoSync {
		if err := safetensors.SyncDir(tmp); err != nil {
			return res, err
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("merge into %s: %w", out, err)
	}
	src := tmp
	if asFile {
		src = shardPaths[0]
	}
	old, err := atomicdir.Publish(src, out, replace)
	if err != nil {
		return res, err
	}
	// From here the output is in place: clean up without failing.
	if old != "" {
		os.RemoveAll(old)
	}
	os.RemoveAll(tmp)
	if !p.opts.NoSync {
		safetensors.SyncDir(parent)
	}
	return Result{
		Output: out, Method: p.Method, Weights: info.Weights, Members: info.Members,
		MemberCount: p.MemberCount, Fingerprint: fp, Tensors: len(p.Tensors), Shards: len(p.Shards),
		BytesRead: p.InBytes, BytesWritten: p.OutBytes, Duration: time.Since(start),
	}, nil
}

// verifyMembers recomputes every member's content fingerprint.
func (p *Plan) verifyMembers(ctx context.Context) error {
	for _, m := range p.Members {
		fp, err := m.Set.Fingerprint(ctx, p.opts.Threads)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Label, err)
		}
		stored := m.Set.Metadata[safetensors.MetaFingerprint]
		if stored != "" && stored != fp {
			return &CheckError{Member: m.Label, Msg: fmt.Sprintf("stored %s %s does not match its content, which hashes to %s (modified after it was written?)", safetensors.MetaFingerprint, stored, fp)}
		}
		m.Fingerprint = fp
	}
	return nil
}

func (p *Plan) writeIndex(dir string) error {
	wm := make(map[string]string, len(p.Tensors))
	for _, t := range p.Tensors {
		wm[t.Name] = p.Shards[t.Shard]
	}
	b, err := json.MarshalIndent(map[string]any{
		"metadata":   map[string]any{"total_size": p.OutBytes},
		"weight_map": wm,
	}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, safetensors.IndexFileName), append(b, '\n'), !p.opts.NoSync)
}

func writeFileSync(path string, data []byte, sync bool) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("syncing %s: %w", path, err)
		}
	}
	return f.Close()
}

// samePath reports whether a and b name the same file or directory.
func samePath(a, b string) bool {
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(sa, sb)
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

// chunk is a piece of one output tensor: elements [lo, lo+n). Every chunk
// but a tensor's last is one fingerprint block of output bytes, so workers
// can hash their own chunks.
type chunk struct {
	t     *TensorPlan
	lo, n int64
}

type job struct {
	seq int
	chunk
	out []byte
}

type result struct {
	job
	digest [32]byte
	err    error
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// stream computes every output chunk on worker goroutines and writes them
// in order; with hash it returns the output's content fingerprint.
func (p *Plan) stream(ctx context.Context, writers []*safetensors.Writer, hash bool) (string, error) {
	var chunks []chunk
	for _, t := range p.Tensors {
		per := int64(safetensors.FingerprintBlockSize / t.OutDType.Size())
		e := t.Elements()
		if e == 0 {
			chunks = append(chunks, chunk{t, 0, 0})
		}
		for lo := int64(0); lo < e; lo += per {
			chunks = append(chunks, chunk{t, lo, min(per, e-lo)})
		}
	}
	threads := p.opts.Threads
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	inFlight := 2*threads + 2
	pool := make(chan []byte, inFlight)
	for range inFlight {
		pool <- make([]byte, safetensors.FingerprintBlockSize)
	}
	jobs := make(chan job)
	results := make(chan result, inFlight)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // dispatcher: buffers are taken in chunk order, so the next chunk the writer needs always gets one
		defer wg.Done()
		defer close(jobs)
		for i, c := range chunks {
			var buf []byte
			select {
			case buf = <-pool:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, c, buf[:c.n*int64(c.t.OutDType.Size())]}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := p.newWorker()
			for j := range jobs {
				r := result{job: j}
				if ctx.Err() == nil {
					r.err = w.process(j.chunk, j.out)
					if r.err == nil && len(j.out) > 0 && hash {
						r.digest = safetensors.BlockDigest(j.out)
					}
				} else {
					r.err = ctx.Err()
				}
				results <- r
			}
		}()
	}
	fail := func(err error) (string, error) {
		cancel()
		wg.Wait()
		return "", err
	}

	fpr := safetensors.NewFingerprinter()
	pending := map[int]result{}
	var digests [][32]byte
	var done int64
	for next := 0; next < len(chunks); {
		var r result
		select {
		case r = <-results:
		case <-ctx.Done():
			return fail(fmt.Errorf("merge: %w", ctx.Err()))
		}
		if r.err != nil {
			return fail(r.err)
		}
		pending[r.seq] = r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			t := r.t
			if err := writers[t.Shard].WritePart(t.Name, r.out); err != nil {
				return fail(err)
			}
			if len(r.out) > 0 {
				digests = append(digests, r.digest)
			}
			if hash && r.lo+r.n == t.Elements() {
				if err := fpr.AddBlocks(t.Name, t.OutDType, t.Shape, t.OutBytes(), digests); err != nil {
					return fail(err)
				}
				digests = nil
			}
			pool <- r.out[:cap(r.out)]
			done += r.n * sumSizes(t.InDTypes)
			if p.opts.Progress != nil {
				p.opts.Progress(done, p.InBytes)
			}
			next++
		}
	}
	cancel()
	wg.Wait()
	if !hash {
		return "", nil
	}
	return fpr.Sum(), nil
}

// worker holds one goroutine's buffers.
type worker struct {
	p       *Plan
	raw     [][]byte    // per member: a read buffer
	data    [][]byte    // per member: the current chunk's raw bytes
	dec     [][]float32 // per member: a decoded block
	srcs    [][]float32
	rawSrcs [][]byte
	tmp     []float32
	acc     []float64
	contrib []int     // members with a non-zero weight
	zero    []int     // members with weight 0 (checked, not summed)
	w64     []float64 // weights of contrib
	w32     []float32
}

// decodeBlock is the number of elements decoded and summed at a time.
const decodeBlock = 8192

func (p *Plan) newWorker() *worker {
	n := len(p.Members)
	w := &worker{p: p, raw: make([][]byte, n), data: make([][]byte, n), dec: make([][]float32, n)}
	for i, m := range p.Members {
		if m.Weight == 0 {
			w.zero = append(w.zero, i)
			continue
		}
		w.contrib = append(w.contrib, i)
		w.w64 = append(w.w64, m.Weight)
		w.w32 = append(w.w32, float32(m.Weight))
	}
	w.srcs = make([][]float32, len(w.contrib))
	w.rawSrcs = make([][]byte, len(w.contrib))
	return w
}

func (w *worker) rawBuf(m, n int) []byte {
	if cap(w.raw[m]) < n {
		w.raw[m] = make([]byte, n)
	}
	return w.raw[m][:n]
}

func (w *worker) process(c chunk, out []byte) error {
	t := c.t
	if c.n == 0 {
		return nil
	}
	if !t.Average {
		return w.copyChunk(c, out)
	}
	n := int(c.n)
	for m, mem := range w.p.Members {
		sz := t.InDTypes[m].Size()
		buf := w.rawBuf(m, n*sz)
		if err := mem.Set.ReadRawAt(t.refs[m], buf, c.lo*int64(sz)); err != nil {
			return fmt.Errorf("%s: %w", mem.Label, err)
		}
		w.data[m] = buf
	}
	if w.p.opts.Accumulate == AccumulateF64 && (t.OutDType == safetensors.F64 || hasF64(t.InDTypes)) {
		return w.average64(c, out)
	}
	osz := t.OutDType.Size()
	// Members all BF16 (or all F16) are summed straight from their bytes.
	fused := safetensors.DType("")
	if w.p.opts.Accumulate == AccumulateF64 {
		fused = t.InDTypes[w.contrib[0]]
		for _, m := range w.contrib {
			if t.InDTypes[m] != fused {
				fused = ""
			}
		}
	}
	for b0 := 0; b0 < n; b0 += decodeBlock {
		bn := min(decodeBlock, n-b0)
		if fused == safetensors.BF16 || fused == safetensors.F16 {
			for k, m := range w.contrib {
				w.rawSrcs[k] = w.data[m][2*b0 : 2*(b0+bn)]
			}
		} else {
			for k, m := range w.contrib {
				w.srcs[k] = w.view(m, t.InDTypes[m], b0, bn)
			}
		}
		direct := t.OutDType == safetensors.F32 && littleEndian
		var dst []float32
		if direct {
			dst = f32s(out[b0*4 : (b0+bn)*4])
		} else {
			if cap(w.tmp) < decodeBlock {
				w.tmp = make([]float32, decodeBlock)
			}
			dst = w.tmp[:bn]
		}
		var bad bool
		switch {
		case w.p.opts.Accumulate == AccumulateF32:
			bad = wsum32(dst, w.srcs, w.w32)
		case fused == safetensors.BF16:
			bad = wsum64BF16(dst, w.rawSrcs, w.w64)
		case fused == safetensors.F16:
			bad = wsum64F16(dst, w.rawSrcs, w.w64)
		default:
			bad = wsum64(dst, w.srcs, w.w64)
		}
		if bad {
			i := nonFinite32(dst)
			return w.nonFinite(c, b0, bn, c.lo+int64(b0+i), float64(dst[i]))
		}
		for _, m := range w.zero {
			if i := nonFinite32(w.view(m, t.InDTypes[m], b0, bn)); i >= 0 {
				return w.nonFinite(c, b0, bn, c.lo+int64(b0+i), math.NaN())
			}
		}
		if !direct {
			o := out[b0*osz : (b0+bn)*osz]
			over := false
			switch t.OutDType {
			case safetensors.BF16:
				over = encodeBF16(o, dst)
			case safetensors.F16:
				over = encodeF16(o, dst)
			default:
				if err := safetensors.EncodeFloat32(t.OutDType, dst, o); err != nil {
					return fmt.Errorf("tensor %q: %w", t.Name, err)
				}
			}
			if over {
				i := overflowed(t.OutDType, o)
				return fmt.Errorf("tensor %q: the average %v at element %d overflows %s; choose a wider output dtype", t.Name, dst[i], c.lo+int64(b0+i), t.OutDType)
			}
		}
	}
	return nil
}

// view returns member m's elements [b0, b0+bn) of the current chunk as
// float32, decoding into the worker's buffer when needed.
func (w *worker) view(m int, dt safetensors.DType, b0, bn int) []float32 {
	sz := dt.Size()
	raw := w.data[m][b0*sz : (b0+bn)*sz]
	if dt == safetensors.F32 && littleEndian {
		return f32s(raw)
	}
	if cap(w.dec[m]) < decodeBlock {
		w.dec[m] = make([]float32, decodeBlock)
	}
	d := w.dec[m][:bn]
	switch dt {
	case safetensors.BF16:
		decodeBF16(d, raw)
	case safetensors.F16:
		decodeF16(d, raw)
	default:
		safetensors.DecodeFloat32(dt, raw, d) // sizes match by construction
	}
	return d
}

// average64 is the general path for F64 inputs or output, summing in
// float64 with the same order and rounding as the fast path.
func (w *worker) average64(c chunk, out []byte) error {
	t := c.t
	n := int(c.n)
	if cap(w.acc) < n {
		w.acc = make([]float64, n)
	}
	acc := w.acc[:n]
	val := func(m, i int) float64 {
		dt := t.InDTypes[m]
		raw := w.data[m]
		switch dt {
		case safetensors.F64:
			return math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		case safetensors.F32:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		case safetensors.BF16:
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16))
		default:
			return float64(safetensors.F16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	}
	for k, m := range w.contrib {
		wm := w.w64[k]
		for i := range acc {
			if k == 0 {
				acc[i] = val(m, i) * wm
			} else {
				acc[i] += float64(val(m, i) * wm)
			}
		}
	}
	for i, v := range acc {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return w.nonFinite(c, 0, n, c.lo+int64(i), v)
		}
	}
	for _, m := range w.zero {
		for i := range n {
			if v := val(m, i); math.IsNaN(v) || math.IsInf(v, 0) {
				return w.nonFinite(c, 0, n, c.lo+int64(i), v)
			}
		}
	}
	osz := t.OutDType.Size()
	f32 := make([]float32, 1)
	for i, v := range acc {
		o := out[i*osz : (i+1)*osz]
		if t.OutDType == safetensors.F64 {
			binary.LittleEndian.PutUint64(o, math.Float64bits(v))
			continue
		}
		f32[0] = float32(v)
		safetensors.EncodeFloat32(t.OutDType, f32, o)
		if overflowed(t.OutDType, o) >= 0 {
			return fmt.Errorf("tensor %q: the average %v at element %d overflows %s; choose a wider output dtype", t.Name, v, c.lo+int64(i), t.OutDType)
		}
	}
	return nil
}

// nonFinite builds the error for a NaN or infinity at element elem (within
// block [b0, b0+bn) of chunk c): it names the member holding a non-finite
// value there, or says the finite members' average overflowed.
func (w *worker) nonFinite(c chunk, b0, bn int, elem int64, avg float64) error {
	t := c.t
	i := int(elem - c.lo)
	for m, mem := range w.p.Members {
		dt := t.InDTypes[m]
		sz := dt.Size()
		one := make([]float32, 1)
		var v float64
		if dt == safetensors.F64 {
			v = math.Float64frombits(binary.LittleEndian.Uint64(w.data[m][8*i:]))
		} else {
			safetensors.DecodeFloat32(dt, w.data[m][sz*i:sz*(i+1)], one)
			v = float64(one[0])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &CheckError{Member: mem.Label, Tensor: t.Name, Msg: fmt.Sprintf("value %v at element %d %v; non-finite weights cannot be averaged (nothing was written)", v, elem, unravel(elem, t.Shape))}
		}
	}
	return fmt.Errorf("tensor %q: the weighted average is %v at element %d %v although every member is finite (overflow); nothing was written", t.Name, avg, elem, unravel(elem, t.Shape))
}

// copyChunk copies an integer or bool chunk after checking that every
// member holds the same bytes.
func (w *worker) copyChunk(c chunk, out []byte) error {
	t := c.t
	sz := int64(t.OutDType.Size())
	ms := w.p.Members
	if err := ms[0].Set.ReadRawAt(t.refs[0], out, c.lo*sz); err != nil {
		return fmt.Errorf("%s: %w", ms[0].Label, err)
	}
	for m := 1; m < len(ms); m++ {
		raw := w.rawBuf(m, len(out))
		if err := ms[m].Set.ReadRawAt(t.refs[m], raw, c.lo*sz); err != nil {
			return fmt.Errorf("%s: %w", ms[m].Label, err)
		}
		if !bytes.Equal(raw, out) {
			i := 0
			for raw[i] == out[i] {
				i++
			}
			elem := c.lo + int64(i)/sz
			return &CheckError{Member: ms[m].Label, Tensor: t.Name, Ref: ms[0].Label,
				Msg: fmt.Sprintf("%s tensor differs from the reference at element %d %v; integer and bool tensors are copied, so they must be identical in every member (nothing was written)", t.OutDType, elem, unravel(elem, t.Shape))}
		}
	}
	return nil
}

// overflowed returns the index of the first infinite (or NaN) element of
// F16 or BF16 data, or -1.
func overflowed(dt safetensors.DType, o []byte) int {
	var mask uint16
	switch dt {
	case safetensors.F16:
		mask = 0x7c00
	case safetensors.BF16:
		mask = 0x7f80
	default:
		return -1
	}
	for i := 0; i+1 < len(o); i += 2 {
		if binary.LittleEndian.Uint16(o[i:])&mask == mask {
			return i / 2
		}
	}
	return -1
}

func hasF64(ds []safetensors.DType) bool {
	for _, d := range ds {
		if d == safetensors.F64 {
			return true
		}
	}
	return false
}

// f32s views little-endian bytes as float32s (no copy).
func f32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// unravel turns a flat element index into a multi-dimensional one.
func unravel(i int64, shape []int64) []int64 {
	idx := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}
