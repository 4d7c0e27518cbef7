// Package sample draws responses from a language-model checkpoint:
// temperature, top-k and top-p (nucleus) sampling, batched, with the
// model's KV cache so each new token costs one position per sequence.
//
// Sampling is deterministic for a seed, and independent of batching: the
// random stream of sample j of prompt i is keyed by (seed, i, j), and the
// engine's logits for a sequence do not depend on the other sequences of
// its batch, so the same (seed, prompt, sample) gives the same text whatever
// the batch size.
package sample

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model"
)

// Config sets up sampling.
type Config struct {
	// Temperature divides the logits; 0 means greedy decoding.
	Temperature float64 `json:"temperature"`
	// TopK keeps the K most likely tokens (0: all).
	TopK int `json:"top_k"`
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches P (0 or 1: all).
	TopP float64 `json:"top_p"`
	// MaxTokens bounds the response length (EOS included).
	MaxTokens int `json:"max_tokens"`
	// Seed keys the random streams.
	Seed uint64 `json:"seed"`
	// BatchSize is how many sequences are decoded together.
	BatchSize int `json:"batch_size"`
	// NoCache recomputes the whole sequence at every step instead of using
	// the KV cache (for measuring what the cache saves).
	NoCache bool `json:"no_cache,omitempty"`
	// NoPack leaves a GPT-2 model's weights unpacked during the generation
	// (each product packs them again; the same samples, slower, and
	// model.Model.PackedBytes less memory).
	NoPack bool `json:"no_pack,omitempty"`
	// Stop lists token sequences that end a response as soon as it ends
	// with one of them (the sequence is kept in the response). EOS always
	// ends a response. Sequences are matched on token ids, so a stop text
	// should be encoded the way the model writes it.
	Stop [][]int32 `json:"stop,omitempty"`
}

// DefaultConfig returns plain sampling at temperature 1.
func DefaultConfig() Config {
	return Config{Temperature: 1, MaxTokens: 48, Seed: 1, BatchSize: 32}
}

// Validate reports the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.Temperature < 0 || math.IsNaN(c.Temperature):
		return fmt.Errorf("temperature %v < 0", c.Temperature)
	case c.TopK < 0:
		return fmt.Errorf("top-k %d < 0", c.TopK)
	case c.TopP < 0 || c.TopP > 1:
		return fmt.Errorf("top-p %v outside [0, 1]", c.TopP)
	case c.MaxTokens < 1:
		return fmt.Errorf("max tokens %d < 1", c.MaxTokens)
	case c.BatchSize < 1:
		return fmt.Errorf("batch size %d < 1", c.BatchSize)
	}
	for i, seq := range c.Stop {
		if len(seq) == 0 {
			return fmt.Errorf("stop sequence %d is empty", i)
		}
	}
	return nil
}

// Request is one prompt, already tokenised, and how many samples to draw
// from it.
type Request struct {
	Prompt []int32
	N      int
}

// Output is one sampled response.
type Output struct {
	// Prompt and Sample index the request and the sample within it.
	Prompt, Sample int
	// Tokens is the response, ending with EOS when Stopped.
	Tokens []int32
	// Stopped reports that the model emitted EOS (else MaxTokens ran out,
	// a stop sequence matched or the context was full).
	Stopped bool
	// StopSeq is 1 + the index in Config.Stop of the sequence that ended
	// the response, 0 if none did.
	StopSeq int
}

// Generate samples from m for every request. eos ends a response. Prompts
// longer than the model's context minus MaxTokens are cut from the left.
// Outputs are in request order, samples in order within a request.
func Generate(ctx context.Context, m model.LanguageModel, reqs []Request, eos int, cfg Config) ([]Output, error) {
	return NewGenerator(m).Generate(ctx, reqs, eos, cfg)
}

// Generator samples from one model and keeps its decoders (KV caches)
// from one Generate to the next: a decoder's buffers, allocated and first
// written anew by every call, cost a generation of short responses about
// as much as its prefill. A caller that samples from the same model again
// and again (RL, every step) holds one; the samples are those of Generate.
// The decoders stay allocated as long as the Generator. Not safe for
// concurrent use.
type Generator struct {
	m    model.LanguageModel
	decs map[[2]int]model.Decoder
}

// NewGenerator returns a Generator for m.
func NewGenerator(m model.LanguageModel) *Generator {
	return &Generator{m: m, decs: map[[2]int]model.Decoder{}}
}

// decoder returns the Generator's decoder for batch sequences of up to
// maxLen tokens, made on first use. Prefill replaces a decoder's contents,
// and a step reads only the positions it has filled, so a reused decoder
// computes what a new one would.
func (g *Generator) decoder(batch, maxLen int) (model.Decoder, error) {
	key := [2]int{batch, maxLen}
	if d, ok := g.decs[key]; ok {
		return d, nil
	}
	d, err := g.m.NewDecoder(batch, maxLen)
	if err != nil {
		return nil, err
	}
	g.decs[key] = d
	return d, nil
}

// Generate samples from the Generator's model for every request, as the
// package's Generate does.
func (g *Generator) Generate(ctx context.Context, reqs []Request, eos int, cfg Config) ([]Output, error) {
	m := g.m
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sampling: %w", err)
	}
	maxLen := m.MaxLen()
	if cfg.MaxTokens >= maxLen {
		return nil, fmt.Errorf("sampling: max tokens %d leaves no room for a prompt in %d positions", cfg.MaxTokens, maxLen)
	}
	type job struct{ req, sample int }
	var jobs []job
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return nil, fmt.Errorf("sampling: prompt %d is empty", i)
		}
		for j := 0; j < r.N; j++ {
			jobs = append(jobs, job{i, j})
		}
	}
	out := make([]Output, len(jobs))
	// A GPT-2 model's weights are packed once for the whole generation
	// instead of by every product of every decoding step (bit-identical:
	// model.Model.PackForInference), and unpacked after it unless the
	// caller had packed them.
	if pm, ok := m.(*model.Model); ok && !pm.Packed() && !cfg.NoPack {
		pm.PackForInference()
		defer pm.Unpack()
	}
	var kv model.Decoder
	kvB := min(cfg.BatchSize, max(len(jobs), 1))
	if !cfg.NoCache {
		var err error
		if kv, err = g.decoder(kvB, maxLen); err != nil {
			return nil, err
		}
	}
	V := m.VocabSize()
	// Each worker drawing tokens takes its own scratch (probabilities and
	// candidate indices over the vocabulary).
	scratch := sync.Pool{New: func() any { return &pickScratch{probs: make([]float64, V), idx: make([]int, V)} }}
	for lo := 0; lo < len(jobs); lo += cfg.BatchSize {
		batch := jobs[lo:min(lo+cfg.BatchSize, len(jobs))]
		B := len(batch)
		prompts := make([][]int32, B)
		rngs := make([]*rand.Rand, B)
		for b, j := range batch {
			p := reqs[j.req].Prompt
			if room := maxLen - cfg.MaxTokens; len(p) > room {
				p = p[len(p)-room:]
			}
			prompts[b] = p
			rngs[b] = rand.New(rand.NewPCG(cfg.Seed, uint64(j.req)<<24|uint64(j.sample)))
			out[lo+b] = Output{Prompt: j.req, Sample: j.sample}
		}
		if kv != nil && B != kvB { // the last, smaller batch
			var err error
			if kv, err = g.decoder(B, maxLen); err != nil {
				return nil, err
			}
			kvB = B
		}
		dec := &decoder{m: m, kv: kv, seqs: prompts}
		logits, err := dec.start()
		if err != nil {
			return nil, err
		}
		done := make([]bool, B)
		next := make([]int32, B)
		for t := 0; t < cfg.MaxTokens; t++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			// The rows draw in parallel: each has its own random stream, so
			// the tokens do not depend on how the rows are split.
			kernels.ParallelFor(B, 1, func(b0, b1 int) {
				sc := scratch.Get().(*pickScratch)
				defer scratch.Put(sc)
				for b := b0; b < b1; b++ {
					if !done[b] {
						next[b] = int32(pick(logits[b*V:(b+1)*V], cfg, rngs[b], sc.probs, sc.idx))
					}
				}
			})
			live := 0
			for b := 0; b < B; b++ {
				if done[b] {
					next[b] = int32(eos)
					continue
				}
				tok := int(next[b])
				o := &out[lo+b]
				o.Tokens = append(o.Tokens, int32(tok))
				if tok == eos {
					o.Stopped, done[b] = true, true
				} else if k := endsWith(o.Tokens, cfg.Stop); k > 0 {
					o.StopSeq, done[b] = k, true
				} else {
					live++
				}
			}
			if live == 0 || t == cfg.MaxTokens-1 {
				break
			}
			if logits, err = dec.step(next); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// endsWith returns 1 + the index of the first of stops that tokens ends
// with, or 0.
func endsWith(tokens []int32, stops [][]int32) int {
	for k, s := range stops {
		if len(s) <= len(tokens) && slices.Equal(tokens[len(tokens)-len(s):], s) {
			return k + 1
		}
	}
	return 0
}

// decoder advances a batch by one token, with the KV cache (kv) or by
// full recomputation.
type decoder struct {
	m    model.LanguageModel
	kv   model.Decoder
	seqs [][]int32
}

func (d *decoder) start() ([]float32, error) {
	if d.kv != nil {
		return d.kv.Prefill(d.seqs)
	}
	for b, s := range d.seqs {
		d.seqs[b] = append([]int32(nil), s...)
	}
	return d.m.NextLogits(d.seqs)
}

func (d *decoder) step(next []int32) ([]float32, error) {
	if d.kv != nil {
		return d.kv.Step(next)
	}
	for b := range d.seqs {
		d.seqs[b] = append(d.seqs[b], next[b])
	}
	return d.m.NextLogits(d.seqs)
}

// pickScratch is one worker's buffers for pick.
type pickScratch struct {
	probs []float64
	idx   []int
}

// pick draws a token from logits under cfg. The probabilities are
// exp((logit − max) / T) in float64, math.Exp's bits: the maximum is taken
// over the float32 logits (the same value as over their float64
// conversions) and T = 1 skips a division by 1, which is exact.
func pick(logits []float32, cfg Config, rng *rand.Rand, probs []float64, idx []int) int {
	if cfg.Temperature == 0 {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	V := len(logits)
	mx := float32(math.Inf(-1))
	nan := false
	for _, v := range logits {
		if v > mx {
			mx = v
		}
		nan = nan || v != v
	}
	maxv := float64(mx)
	if nan {
		maxv = math.NaN() // as math.Max would have it
	}
	var sum float64
	if T := cfg.Temperature; T == 1 {
		for i, v := range logits {
			p := math.Exp(float64(v) - maxv)
			probs[i] = p
			sum += p
		}
	} else {
		for i, v := range logits {
			p := math.Exp((float64(v) - maxv) / T)
			probs[i] = p
			sum += p
		}
	}
	cand := idx[:V]
	for i := range cand {
		cand[i] = i
	}
	if (cfg.TopK > 0 && cfg.TopK < V) || (cfg.TopP > 0 && cfg.TopP < 1) {
		sort.SliceStable(cand, func(a, b int) bool { return probs[cand[a]] > probs[cand[b]] })
		if cfg.TopK > 0 && cfg.TopK < len(cand) {
			cand = cand[:cfg.TopK]
		}
		if cfg.TopP > 0 && cfg.TopP < 1 {
			var acc float64
			for k, i := range cand {
				acc += probs[i] / sum
				if acc >= cfg.TopP {
					cand = cand[:k+1]
					break
				}
			}
		}
		sum = 0
		for _, i := range cand {
			sum += probs[i]
		}
	}
	u := rng.Float64() * sum
	for _, i := range cand {
		u -= probs[i]
		if u < 0 {
			return i
		}
	}
	return cand[len(cand)-1]
}
