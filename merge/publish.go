package merge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/safetensors"
)

// Result summarises a finished merge.
type Result struct {
	// Output is the path written.
	Output string `json:"output"`
	// Method and Weights are as recorded in the output's "warm.merge".
	Method  Method    `json:"method"`
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
		if err := atomicdir.SyncDir(tmp); err != nil {
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
	if p.opts.Verify != nil {
		if err := p.opts.Verify(ctx, src); err != nil {
			return res, fmt.Errorf("merge into %s not written: %w", out, err)
		}
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
		atomicdir.SyncDir(parent)
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
