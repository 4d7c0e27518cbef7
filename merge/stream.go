package merge

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/warm-rm/warm/safetensors"
)

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
