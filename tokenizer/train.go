package tokenizer

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// DefaultVocabSize is the vocabulary size Train aims for when none is given.
const DefaultVocabSize = 4096

// TrainConfig sets up Train.
type TrainConfig struct {
	// VocabSize is the total vocabulary wanted: the 256 byte tokens, the two
	// special tokens and VocabSize-258 merged tokens. 0 means
	// DefaultVocabSize. Training stops earlier when no pair is left to merge
	// (or none is frequent enough).
	VocabSize int
	// MinFrequency is the lowest count (over the whole corpus) a pair must
	// have to be merged; 0 or 1 merges any pair that occurs.
	MinFrequency int
	// Workers counts pre-tokens in parallel; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called from the training goroutine now and then.
	Progress func(Progress)
}

// Progress reports how far training is.
type Progress struct {
	// Stage is "count" while pre-tokens are counted, "merge" while merges are
	// learnt.
	Stage string
	// Done and Total: bytes of text read and the total when known (else 0)
	// while counting; merges learnt and merges wanted while merging.
	Done, Total int64
}

// Train learns a byte-level BPE tokenizer from texts, each a document.
//
// The texts are pre-tokenized (PreTokenize, after cutting out literal special
// tokens as Encode does) and the pre-token frequencies counted once, in
// parallel. Each distinct pre-token becomes a sequence of byte tokens. Then,
// as Hugging Face's BPE trainer does, the counts of all adjacent pairs (weighted
// by pre-token frequency) and, for each pair, the pre-tokens holding it are
// indexed, and a max-heap of pairs by count drives the merges: the most
// frequent pair is merged into a new token in every pre-token that holds it,
// and only the counts of the pairs around each merge site are updated (heap
// entries whose count went down are refreshed lazily when they surface).
//
// Ties between pairs with equal counts go to the pair whose first token's
// bytes are lexicographically smallest, then whose second token's bytes are,
// so the same texts always give the same tokenizer, byte for byte.
//
// Every merge makes a new token: a byte span that is one token in some word
// was split the same way in every word until the merge that joined it (a span
// no merge crossed evolves the same whatever its context), so a later merge
// cannot join the same bytes along another split.
//
// Ids: 0..255 are the bytes, TrainedEOSID and TrainedPadID the special tokens
// EOSToken and PadToken, and merged tokens follow in merge order.
func Train(ctx context.Context, texts iter.Seq[string], cfg TrainConfig) (*Tokenizer, error) {
	return train(ctx, texts, 0, cfg)
}

// TrainFiles trains on text files holding one document per line (the line
// ending, "\n" or "\r\n", is not part of the document; empty lines are
// skipped). See Train.
func TrainFiles(ctx context.Context, paths []string, cfg TrainConfig) (*Tokenizer, error) {
	var total int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: train: %w", err)
		}
		total += st.Size()
	}
	var readErr error
	texts := func(yield func(string) bool) {
		for _, p := range paths {
			if err := eachLine(p, yield); err != nil {
				readErr = err
				return
			}
		}
	}
	t, err := train(ctx, texts, total, cfg)
	if readErr != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", readErr)
	}
	return t, err
}

// eachLine yields the non-empty lines of a file without their line endings.
func eachLine(path string, yield func(string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for line := 1; ; line++ {
		s, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: line %d: %w", path, line, err)
		}
		doc := strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
		if doc != "" && !yield(doc) {
			return nil
		}
		if err != nil {
			return nil
		}
	}
}

func train(ctx context.Context, texts iter.Seq[string], totalBytes int64, cfg TrainConfig) (*Tokenizer, error) {
	vocabSize := cfg.VocabSize
	if vocabSize == 0 {
		vocabSize = DefaultVocabSize
	}
	if vocabSize < FirstMergeID {
		return nil, fmt.Errorf("tokenizer: train: vocab size %d is below %d (256 bytes and 2 special tokens)", vocabSize, FirstMergeID)
	}
	if cfg.MinFrequency < 0 {
		return nil, fmt.Errorf("tokenizer: train: negative min frequency %d", cfg.MinFrequency)
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(Progress) {}
	}
	counts, err := countWords(ctx, texts, totalBytes, cfg.Workers, progress)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	tokBytes, merges, err := learnMerges(ctx, counts, vocabSize, int64(max(cfg.MinFrequency, 1)), progress)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	vocab := make([]string, len(tokBytes))
	for id, b := range tokBytes {
		vocab[id] = byteLevelString(b)
	}
	vocab[TrainedEOSID], vocab[TrainedPadID] = EOSToken, PadToken
	ms := make([][2]string, len(merges))
	for i, m := range merges {
		ms[i] = [2]string{vocab[m[0]], vocab[m[1]]}
	}
	added := []AddedToken{{ID: TrainedEOSID, Content: EOSToken, Special: true}, {ID: TrainedPadID, Content: PadToken, Special: true}}
	t, err := newTokenizer(vocab, ms, added, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err) // a bug if it happens
	}
	return t, nil
}

// specialSplitter cuts literal special tokens out of training text, as
// Encode does, so that they are never counted as words.
var specialSplitter = newAddedMatcher([]matchTok{{EOSToken, TrainedEOSID}, {PadToken, TrainedPadID}})

// countWords counts pre-token frequencies over texts with several workers.
func countWords(ctx context.Context, texts iter.Seq[string], totalBytes int64, workers int, progress func(Progress)) (map[string]int64, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batches := make(chan []string, 2*workers)
	results := make([]map[string]int64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := make(map[string]int64)
			add := func(p string) {
				if c, ok := m[p]; ok {
					m[p] = c + 1
				} else {
					m[strings.Clone(p)] = 1
				}
			}
			for batch := range batches {
				for _, text := range batch {
					splitAdded(text, specialSplitter, func(seg string, _ int) { splitPieces(seg, add) }, func(int) {})
				}
			}
			results[w] = m
		}()
	}
	var done, batchBytes int64
	var batch []string
	var err error
	for text := range texts {
		batch = append(batch, text)
		batchBytes += int64(len(text)) + 1
		if batchBytes >= 1<<18 {
			if err = ctx.Err(); err != nil {
				break
			}
			batches <- batch
			done += batchBytes
			progress(Progress{Stage: "count", Done: done, Total: totalBytes})
			batch, batchBytes = nil, 0
		}
	}
	if len(batch) > 0 && err == nil {
		batches <- batch
		done += batchBytes
	}
	close(batches)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	total := max(totalBytes, done) // file sizes count skipped line endings
	progress(Progress{Stage: "count", Done: total, Total: total})
	counts := results[0]
	for _, m := range results[1:] {
		for k, v := range m {
			counts[k] += v
		}
	}
	return counts, nil
}

// pairEntry is a heap entry: a pair and its count when pushed.
type pairEntry struct {
	count int64
	a, b  int32
}

// pairHeap is a max-heap of pairs by count, ties to the lexicographically
// smaller (bytes of a, bytes of b).
type pairHeap struct {
	e   []pairEntry
	tok [][]byte
}

func (h *pairHeap) less(i, j int) bool {
	x, y := h.e[i], h.e[j]
	if x.count != y.count {
		return x.count > y.count
	}
	if c := bytes.Compare(h.tok[x.a], h.tok[y.a]); c != 0 {
		return c < 0
	}
	return bytes.Compare(h.tok[x.b], h.tok[y.b]) < 0
}

func (h *pairHeap) push(e pairEntry) {
	h.e = append(h.e, e)
	for i := len(h.e) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h.e[i], h.e[p] = h.e[p], h.e[i]
		i = p
	}
}

func (h *pairHeap) pop() pairEntry {
	top := h.e[0]
	n := len(h.e) - 1
	h.e[0] = h.e[n]
	h.e = h.e[:n]
	sift(h, 0)
	return top
}

// learnMerges runs the BPE merge loop over the counted pre-tokens. It returns
// the bytes of every token by id (ids 256 and 257 are placeholders for the
// special tokens) and the merges in order as id pairs.
func learnMerges(ctx context.Context, counts map[string]int64, vocabSize int, minFreq int64, progress func(Progress)) ([][]byte, [][2]int32, error) {
	// Distinct pre-tokens in a fixed order, as byte-id sequences.
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	words := make([][]int32, len(keys))
	freq := make([]int64, len(keys))
	for i, k := range keys {
		w := make([]int32, len(k))
		for j := 0; j < len(k); j++ {
			w[j] = int32(k[j])
		}
		words[i], freq[i] = w, counts[k]
	}

	tok := make([][]byte, FirstMergeID, vocabSize)
	for b := 0; b < 256; b++ {
		tok[b] = []byte{byte(b)}
	}
	tok[TrainedEOSID], tok[TrainedPadID] = []byte(EOSToken), []byte(PadToken)
	idOf := make(map[string]int32, vocabSize)
	for b := 0; b < 256; b++ {
		idOf[string(tok[b])] = int32(b)
	}

	// Pair counts and, per pair, the words holding it (in increasing order,
	// each word once: a pair gains words only in the merge that makes its
	// newer token, which visits words in increasing order).
	pairCount := make(map[uint64]int64)
	where := make(map[uint64][]int32)
	for wi, w := range words {
		for j := 0; j+1 < len(w); j++ {
			k := pairKey(w[j], w[j+1])
			pairCount[k] += freq[wi]
			if l := where[k]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				where[k] = append(l, int32(wi))
			}
		}
	}
	h := &pairHeap{tok: tok}
	for k, c := range pairCount {
		h.e = append(h.e, pairEntry{c, int32(k >> 32), int32(uint32(k))})
	}
	// Heapify; the pop order depends only on the (total) order, not on the
	// map's iteration order.
	for i := len(h.e)/2 - 1; i >= 0; i-- {
		sift(h, i)
	}

	var merges [][2]int32
	var touched []uint64
	wanted := int64(vocabSize - FirstMergeID)
	nextReport := 0
	for len(tok) < vocabSize && len(h.e) > 0 {
		if len(merges) >= nextReport {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			progress(Progress{Stage: "merge", Done: int64(len(tok) - FirstMergeID), Total: wanted})
			nextReport = len(merges) + 64
		}
		top := h.pop()
		key := pairKey(top.a, top.b)
		if c := pairCount[key]; c != top.count {
			if c > 0 {
				top.count = c
				h.push(top)
			}
			continue
		}
		if top.count < minFreq {
			break
		}
		a, b := top.a, top.b
		merged := append(append([]byte(nil), tok[a]...), tok[b]...)
		if _, exists := idOf[string(merged)]; exists {
			return nil, nil, fmt.Errorf("internal error: merge %q + %q makes an existing token", tok[a], tok[b])
		}
		z := int32(len(tok))
		tok = append(tok, merged)
		h.tok = tok
		idOf[string(merged)] = z
		merges = append(merges, [2]int32{a, b})

		touched = touched[:0]
		change := func(p, q int32, delta int64, wi int32) {
			k := pairKey(p, q)
			pairCount[k] += delta
			if delta > 0 {
				if l := where[k]; len(l) == 0 || l[len(l)-1] != wi {
					where[k] = append(l, wi)
				}
				touched = append(touched, k)
			}
		}
		for _, wi := range where[key] {
			w, f := words[wi], freq[wi]
			j := 0
			for i := 0; i < len(w); {
				if i+1 < len(w) && w[i] == a && w[i+1] == b {
					if j > 0 {
						change(w[j-1], a, -f, wi)
						change(w[j-1], z, f, wi)
					}
					if i+2 < len(w) {
						change(b, w[i+2], -f, wi)
						change(z, w[i+2], f, wi)
					}
					w[j] = z
					j++
					i += 2
				} else {
					w[j] = w[i]
					j++
					i++
				}
			}
			words[wi] = w[:j]
		}
		delete(pairCount, key)
		delete(where, key)
		slices.Sort(touched)
		touched = slices.Compact(touched)
		for _, k := range touched {
			if c := pairCount[k]; c > 0 {
				h.push(pairEntry{c, int32(k >> 32), int32(uint32(k))})
			}
		}
	}
	progress(Progress{Stage: "merge", Done: int64(len(tok) - FirstMergeID), Total: wanted})
	return tok, merges, nil
}

// sift moves entry i of h down to its place (heapify step).
func sift(h *pairHeap, i int) {
	n := len(h.e)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.e[i], h.e[m] = h.e[m], h.e[i]
		i = m
	}
}
