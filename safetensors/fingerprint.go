package safetensors

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// FingerprintBlockSize is the block size of the content fingerprint: a
// tensor's raw bytes are hashed in consecutive blocks of this many bytes
// (the last one shorter), so that blocks can be hashed in parallel.
const FingerprintBlockSize = 1 << 20

// FingerprintPrefix starts every content fingerprint ("warm fingerprint,
// version 1").
const FingerprintPrefix = "wfp1:"

// HeaderIdentityPrefix starts every header identity (see Set.HeaderIdentity).
const HeaderIdentityPrefix = "hdr1:"

// Fingerprinter computes the content fingerprint of a checkpoint, the value
// warm stores as "warm.fingerprint". It depends on the tensors only (names,
// dtypes, shapes and raw bytes), not on metadata, sharding or the order of
// tensors in the files:
//
//	block digest  = SHA-256(one FingerprintBlockSize-byte block of a tensor's data)
//	tensor record = u64(len(name)) name u64(len(dtype)) dtype u64(ndim) u64(dim)...
//	                u64(byte length) block digest...
//	fingerprint   = "wfp1:" + hex(SHA-256("warm-fingerprint-v1\n" tensor records in byte-wise name order))
//
// with u64 a little-endian uint64. Tensors can be added in any order.
type Fingerprinter struct {
	tensors map[string]*fpTensor
}

type fpTensor struct {
	dtype  DType
	shape  []int64
	nbytes int64
	blocks [][32]byte
}

// NewFingerprinter returns an empty Fingerprinter.
func NewFingerprinter() *Fingerprinter {
	return &Fingerprinter{tensors: map[string]*fpTensor{}}
}

// BlockDigest hashes one block of tensor data.
func BlockDigest(p []byte) [32]byte { return sha256.Sum256(p) }

// NumBlocks returns how many fingerprint blocks n data bytes make.
func NumBlocks(n int64) int64 { return (n + FingerprintBlockSize - 1) / FingerprintBlockSize }

// AddTensor adds an in-memory tensor.
func (f *Fingerprinter) AddTensor(name string, dt DType, shape []int64, data []byte) error {
	blocks := make([][32]byte, 0, NumBlocks(int64(len(data))))
	for off := 0; off < len(data); off += FingerprintBlockSize {
		blocks = append(blocks, BlockDigest(data[off:min(off+FingerprintBlockSize, len(data))]))
	}
	return f.AddBlocks(name, dt, shape, int64(len(data)), blocks)
}

// AddBlocks adds a tensor of nbytes data bytes given the BlockDigest of each
// of its blocks, in order. The slice is kept.
func (f *Fingerprinter) AddBlocks(name string, dt DType, shape []int64, nbytes int64, blocks [][32]byte) error {
	if _, dup := f.tensors[name]; dup {
		return fmt.Errorf("fingerprint: tensor %q added twice", name)
	}
	if want := (Spec{name, dt, shape}).ByteLen(); want != nbytes {
		return fmt.Errorf("fingerprint: tensor %q: %d bytes for %s%v, want %d", name, nbytes, dt, shape, want)
	}
	if int64(len(blocks)) != NumBlocks(nbytes) {
		return fmt.Errorf("fingerprint: tensor %q: %d block digests for %d bytes, want %d", name, len(blocks), nbytes, NumBlocks(nbytes))
	}
	f.tensors[name] = &fpTensor{dt, append([]int64(nil), shape...), nbytes, blocks}
	return nil
}

// Sum returns the fingerprint of the tensors added so far.
func (f *Fingerprinter) Sum() string {
	names := make([]string, 0, len(f.tensors))
	for n := range f.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	h.Write([]byte("warm-fingerprint-v1\n"))
	for _, n := range names {
		t := f.tensors[n]
		writeString(h, n)
		writeString(h, string(t.dtype))
		writeU64(h, uint64(len(t.shape)))
		for _, d := range t.shape {
			writeU64(h, uint64(d))
		}
		writeU64(h, uint64(t.nbytes))
		for _, b := range t.blocks {
			h.Write(b[:])
		}
	}
	return FingerprintPrefix + hex.EncodeToString(h.Sum(nil))
}

func writeU64(h hash.Hash, v uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	h.Write(b[:])
}

func writeString(h hash.Hash, s string) {
	writeU64(h, uint64(len(s)))
	h.Write([]byte(s))
}

// FingerprintTensors returns the content fingerprint of in-memory tensors,
// for a writer that wants to store "warm.fingerprint" in the metadata of
// the file it is about to write.
func FingerprintTensors(tensors []Tensor) (string, error) {
	f := NewFingerprinter()
	for _, t := range tensors {
		if err := f.AddTensor(t.Name, t.DType, t.Shape, t.Data); err != nil {
			return "", err
		}
	}
	return f.Sum(), nil
}

// Fingerprint reads every tensor of the Set and returns its content
// fingerprint, hashing blocks on up to threads goroutines (GOMAXPROCS when
// threads < 1). Memory use is threads × FingerprintBlockSize.
func (s *Set) Fingerprint(ctx context.Context, threads int) (string, error) {
	if threads < 1 {
		threads = runtime.GOMAXPROCS(0)
	}
	type job struct {
		t int
		b int64
	}
	digests := make([][][32]byte, len(s.tensors))
	var jobs []job
	for i, t := range s.tensors {
		digests[i] = make([][32]byte, NumBlocks(t.ByteLen()))
		for b := range digests[i] {
			jobs = append(jobs, job{i, int64(b)})
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan job)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, FingerprintBlockSize)
			for j := range ch {
				t := s.tensors[j.t]
				off := j.b * FingerprintBlockSize
				p := buf[:min(FingerprintBlockSize, t.ByteLen()-off)]
				if err := s.ReadRawAt(t, p, off); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					continue
				}
				digests[j.t][j.b] = BlockDigest(p)
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return "", firstErr
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("fingerprinting %s: %w", s.Path, err)
	}
	f := NewFingerprinter()
	for i, t := range s.tensors {
		if err := f.AddBlocks(t.Name, t.DType, t.Shape, t.ByteLen(), digests[i]); err != nil {
			return "", err
		}
	}
	return f.Sum(), nil
}

// HeaderIdentity returns a cheap identity of the Set: a SHA-256 over each
// shard's file name, size and header bytes, prefixed "hdr1:". It reads no
// tensor data, so it is much weaker than the content fingerprint: two files
// with the same header and size but different weights get the same
// identity. warm uses it to name members that carry no "warm.fingerprint".
func (s *Set) HeaderIdentity() string {
	h := sha256.New()
	h.Write([]byte("warm-header-identity-v1\n"))
	for _, f := range s.Files {
		writeString(h, filepath.Base(f.Path))
		writeU64(h, uint64(f.Size))
		h.Write(f.Digest[:])
	}
	return HeaderIdentityPrefix + hex.EncodeToString(h.Sum(nil))
}
