package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/train"
)

// BundleVersion is the version of the federated bundle format.
const BundleVersion = 1

// BundleFile is the description of a bundle, beside its init and head.
const BundleFile = "bundle.json"

// Bundle is what a federated site needs to train one member of a sweep on
// its own data, and nothing else: the member's init checkpoint (init/), the
// shared linear-probed head (head/), and bundle.json with the member's
// hyper-parameters and the base fingerprint. It holds none of the
// manifest's training data, evaluation sets or other members.
type Bundle struct {
	// Version is BundleVersion.
	Version int `json:"version"`
	// Member is the member's name in the manifest; Index its position.
	Member string `json:"member"`
	Index  int    `json:"index"`
	// Role is the member's role in the manifest.
	Role string `json:"role,omitempty"`
	// Base identifies the sweep's shared pre-trained base: the manifest's
	// path (as the coordinator wrote it) and its base fingerprint, which
	// init/ and head/ carry and the trained member will carry too.
	Base BundleBase `json:"base"`
	// InitFingerprint and HeadFingerprint are the "warm.fingerprint" of
	// init/ and head/, checked when the bundle is loaded.
	InitFingerprint string `json:"init_fingerprint"`
	HeadFingerprint string `json:"head_fingerprint"`
	// Dropout is the member's dropout probability; MaxLen the manifest's
	// sequence bound (0: the model's context); SaveAt the member's
	// snapshot steps.
	Dropout float32 `json:"dropout"`
	MaxLen  int     `json:"max_len"`
	SaveAt  []int   `json:"save_at,omitempty"`
	// Train is the member's full training configuration
	// (Manifest.MemberConfig).
	Train train.Config `json:"train"`

	dir string
}

// BundleBase identifies a sweep's pre-trained base.
type BundleBase struct {
	Path        string `json:"path"`
	Fingerprint string `json:"fingerprint"`
}

// Dir is the bundle's directory.
func (b *Bundle) Dir() string { return b.dir }

// InitDir is the member's init checkpoint inside the bundle.
func (b *Bundle) InitDir() string { return filepath.Join(b.dir, "init") }

// HeadDir is the shared head checkpoint inside the bundle.
func (b *Bundle) HeadDir() string { return filepath.Join(b.dir, "head") }

// RMOptions returns the training options of the bundle's member writing to
// out from the site's preference file data: the same options `warm sweep
// run --member K` uses, except that the training file is the site's, no
// label corruption applies (Export refuses manifests that corrupt labels)
// and the checkpoint records "bundle:MEMBER/init" and "bundle:MEMBER/head"
// instead of the site's paths to them.
func (b *Bundle) RMOptions(out, data string) pipeline.RMOptions {
	drop := b.Dropout
	return pipeline.RMOptions{
		Out: out, Init: b.InitDir(), Head: b.HeadDir(), Data: data, MaxLen: b.MaxLen, Dropout: &drop,
		Train: b.Train, SaveAt: append([]int(nil), b.SaveAt...),
		InitLabel: "bundle:" + b.Member + "/init", HeadLabel: "bundle:" + b.Member + "/head",
	}
}

// Export writes the bundle of member k of m into the directory out,
// atomically (replace swaps out an existing bundle). The shared head must
// exist (warm sweep run MANIFEST --head-only fits it), and the member's
// init, the head and the base must share one base fingerprint.
func Export(m *Manifest, k int, out string, replace bool) error {
	if k < 0 || k >= len(m.Members) {
		return fmt.Errorf("sweep export: member %d out of range 0..%d", k, len(m.Members)-1)
	}
	mb := m.Members[k]
	if mb.Role == RoleBaseline {
		return fmt.Errorf("sweep export: member %s is a baseline, evaluated but never averaged; export a member to train", mb.Name)
	}
	if m.CorruptRate > 0 {
		return fmt.Errorf("sweep export: the manifest flips %g of the training labels (corrupt_rate); a site trains on its own labels, so a federated manifest needs corrupt_rate 0", m.CorruptRate)
	}
	base, init, head := m.Path(m.Base), m.Path(mb.Init), m.Path(m.Head)
	if _, err := os.Stat(head); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sweep export: the shared head %s does not exist yet: fit it first with warm sweep run MANIFEST --head-only", head)
	}
	baseFP, _, err := fingerprints(base)
	if err != nil {
		return fmt.Errorf("sweep export: base: %w", err)
	}
	if baseFP == "" {
		return fmt.Errorf("sweep export: base %s has no %s metadata", base, safetensors.MetaBaseFingerprint)
	}
	b := &Bundle{
		Version: BundleVersion, Member: mb.Name, Index: k, Role: mb.Role,
		Base:    BundleBase{Path: m.Base, Fingerprint: baseFP},
		Dropout: mb.Dropout, MaxLen: m.MaxLen, SaveAt: mb.SaveAt, Train: m.MemberConfig(k),
	}
	for _, c := range []struct {
		what, path string
		fp         *string
	}{{"init", init, &b.InitFingerprint}, {"head", head, &b.HeadFingerprint}} {
		bfp, fp, err := fingerprints(c.path)
		if err != nil {
			return fmt.Errorf("sweep export: member %s: %s: %w", mb.Name, c.what, err)
		}
		if bfp != baseFP {
			return fmt.Errorf("sweep export: member %s: %s %s has base fingerprint %q, the base %s has %q: it was not made from the sweep's base", mb.Name, c.what, c.path, bfp, base, baseFP)
		}
		*c.fp = fp
	}
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	err = atomicdir.Write(out, replace, func(tmp string) error {
		if err := copyCheckpoint(init, filepath.Join(tmp, "init")); err != nil {
			return fmt.Errorf("copying the init %s: %w", init, err)
		}
		if err := copyCheckpoint(head, filepath.Join(tmp, "head")); err != nil {
			return fmt.Errorf("copying the head %s: %w", head, err)
		}
		return os.WriteFile(filepath.Join(tmp, BundleFile), append(raw, '\n'), 0o644)
	})
	if err != nil {
		return fmt.Errorf("sweep export: member %s: %w", mb.Name, err)
	}
	return nil
}

// fingerprints returns a checkpoint's base fingerprint and fingerprint
// metadata (headers only).
func fingerprints(path string) (base, fp string, err error) {
	s, err := safetensors.OpenSet(path)
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	return s.Metadata[safetensors.MetaBaseFingerprint], s.Metadata[safetensors.MetaFingerprint], nil
}

// copyCheckpoint copies the files of the checkpoint directory src that make
// the model (weights, shard index, config.json, tokenizer files) into the
// new directory dst, and nothing else (no training state, logs or other
// files that happen to sit beside it).
func copyCheckpoint(src, dst string) error {
	s, err := safetensors.OpenSet(src)
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Dir == "" {
		return fmt.Errorf("%s is a bare safetensors file; a bundle needs a checkpoint directory (config.json, tokenizer)", src)
	}
	var files []string
	for _, f := range s.Files {
		files = append(files, f.Path)
	}
	if s.Index != nil {
		files = append(files, filepath.Join(s.Dir, safetensors.IndexFileName))
	}
	for _, name := range append([]string{merge.ConfigFile}, merge.TokenizerFiles...) {
		p := filepath.Join(s.Dir, name)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		}
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := copyFile(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

// LoadBundle reads and checks the bundle in dir: bundle.json decoded
// strictly (an unknown field is an error), the member's settings valid,
// init/ and head/ present with the fingerprints bundle.json records.
func LoadBundle(dir string) (*Bundle, error) {
	path := filepath.Join(dir, BundleFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	var b Bundle
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("bundle %s: data after the JSON object", path)
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("bundle %s: field %q: %s", path, field, fmt.Sprintf(format, args...))
	}
	switch {
	case b.Version != BundleVersion:
		return nil, bad("version", "%d, this warm reads %d", b.Version, BundleVersion)
	case b.Member == "" || b.Member != filepath.Base(b.Member) || b.Member == "." || b.Member == "..":
		return nil, bad("member", "bad name %q", b.Member)
	case b.Base.Fingerprint == "":
		return nil, bad("base.fingerprint", "empty")
	case b.Dropout < 0 || b.Dropout >= 1:
		return nil, bad("dropout", "%g outside [0, 1)", b.Dropout)
	case b.MaxLen < 0:
		return nil, bad("max_len", "%d is negative", b.MaxLen)
	}
	if err := b.Train.Validate(); err != nil {
		return nil, bad("train", "%v", err)
	}
	b.dir = dir
	for _, c := range []struct{ field, dir, want string }{
		{"init_fingerprint", b.InitDir(), b.InitFingerprint}, {"head_fingerprint", b.HeadDir(), b.HeadFingerprint},
	} {
		base, fp, err := fingerprints(c.dir)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", dir, err)
		}
		if fp != c.want {
			return nil, bad(c.field, "%q, but %s has %q: the bundle was altered", c.want, c.dir, fp)
		}
		if base != b.Base.Fingerprint {
			return nil, bad("base.fingerprint", "%q, but %s has %q", b.Base.Fingerprint, c.dir, base)
		}
	}
	return &b, nil
}
