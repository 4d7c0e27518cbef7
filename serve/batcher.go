package serve

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errQueueFull is returned when the queue of waiting requests is full: the
// handler answers 503 with Retry-After.
var errQueueFull = errors.New("the request queue is full")

// job is one request's sequences, scored together in one batch (a request
// is never split, so all its rewards come from one model).
type job struct {
	ctx    context.Context
	seqs   [][]int32
	tokens int
	std    bool // the request asked for the members' spread
	done   chan result
}

type result struct {
	rewards, std []float32 // std: the ensemble members' spread (nil for one model)
	fingerprint  string
	tokens       int // the request's tokens (set by the handler)
	err          error
}

// batcher collects jobs from concurrent requests into batches of at most
// maxTokens tokens, waiting at most maxWait for a batch to fill, and runs
// them one at a time on the current model.
type batcher struct {
	queue     chan *job
	maxTokens int
	maxWait   time.Duration
	current   func() *loaded
	observe   func(batchSeqs, batchTokens int, seconds float64)
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newBatcher(queue, maxTokens int, maxWait time.Duration, current func() *loaded, observe func(int, int, float64)) *batcher {
	b := &batcher{queue: make(chan *job, queue), maxTokens: maxTokens, maxWait: maxWait, current: current, observe: observe, stop: make(chan struct{})}
	b.wg.Add(1)
	go b.run()
	return b
}

// submit queues a job and waits for its result (or the request's end).
func (b *batcher) submit(ctx context.Context, seqs [][]int32, std bool) (result, error) {
	j := &job{ctx: ctx, seqs: seqs, std: std, done: make(chan result, 1)}
	for _, s := range seqs {
		j.tokens += len(s)
	}
	select {
	case b.queue <- j:
	default:
		return result{}, errQueueFull
	}
	select {
	case r := <-j.done:
		return r, r.err
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
}

// depth is the number of queued jobs.
func (b *batcher) depth() int { return len(b.queue) }

func (b *batcher) close() {
	close(b.stop)
	b.wg.Wait()
}

func (b *batcher) run() {
	defer b.wg.Done()
	var next *job
	for {
		first := next
		next = nil
		if first == nil {
			select {
			case first = <-b.queue:
			case <-b.stop:
				return
			}
		}
		batch := []*job{first}
		tokens := first.tokens
		// Take whatever queued while the previous batch ran (continuous
		// batching: a busy server batches by itself), then wait up to
		// maxWait for more if the batch still has room.
		var timer *time.Timer
		var expired <-chan time.Time
		if b.maxWait > 0 {
			timer = time.NewTimer(b.maxWait)
			expired = timer.C
		}
	fill:
		for tokens < b.maxTokens {
			var j *job
			select {
			case j = <-b.queue:
			default:
				if expired == nil {
					break fill
				}
				select {
				case j = <-b.queue:
				case <-expired:
					break fill
				case <-b.stop:
					b.runBatch(batch)
					return
				}
			}
			if tokens+j.tokens > b.maxTokens {
				next = j // starts the next batch
				break fill
			}
			batch = append(batch, j)
			tokens += j.tokens
		}
		if timer != nil {
			timer.Stop()
		}
		b.runBatch(batch)
	}
}

// runBatch scores the live jobs of a batch in one pass of the current model.
func (b *batcher) runBatch(batch []*job) {
	live := batch[:0]
	var seqs [][]int32
	std := false
	for _, j := range batch {
		if j.ctx.Err() != nil { // the client went away: skip its work
			continue
		}
		live = append(live, j)
		seqs = append(seqs, j.seqs...)
		std = std || j.std
	}
	if len(live) == 0 {
		return
	}
	m := b.current()
	t0 := time.Now()
	r, sd, err := m.rewards(seqs, std)
	b.observe(len(seqs), tokensOf(seqs), time.Since(t0).Seconds())
	off := 0
	for _, j := range live {
		res := result{fingerprint: m.fingerprint, err: err}
		if err == nil {
			res.rewards = r[off : off+len(j.seqs)]
			if sd != nil {
				res.std = sd[off : off+len(j.seqs)]
			}
		}
		off += len(j.seqs)
		j.done <- res
	}
}

func tokensOf(seqs [][]int32) int {
	n := 0
	for _, s := range seqs {
		n += len(s)
	}
	return n
}
