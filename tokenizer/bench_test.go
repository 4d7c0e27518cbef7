package tokenizer

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// dataDir finds the shared real-data folder: $WARM_DATA, or shared/data in
// the working directory or any folder above it (the repository's ../shared).
func dataDir(tb testing.TB) string {
	if d := os.Getenv("WARM_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		d := filepath.Join(dir, "shared", "data")
		if st, err := os.Stat(filepath.Join(d, "corpus")); err == nil && st.IsDir() {
			return d
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skip("real data not found: no shared/data/corpus above the working directory and WARM_DATA unset")
		}
		dir = parent
	}
}

func corpusFiles(tb testing.TB) []string {
	paths, _ := filepath.Glob(filepath.Join(dataDir(tb), "corpus", "*.txt"))
	if len(paths) == 0 {
		tb.Skip("no corpus/*.txt in the shared data folder")
	}
	return paths
}

// readDocs reads the non-empty lines of files, as TrainFiles sees them.
func readDocs(tb testing.TB, paths ...string) []string {
	var docs []string
	for _, p := range paths {
		if err := eachLine(p, func(s string) bool { docs = append(docs, s); return true }); err != nil {
			tb.Fatal(err)
		}
	}
	return docs
}

var (
	corpusOnce sync.Once
	corpusTok  *Tokenizer
	corpusErr  error
)

// corpusTokenizer trains the 4096-token tokenizer on the corpus once per run.
func corpusTokenizer(tb testing.TB) *Tokenizer {
	paths := corpusFiles(tb)
	corpusOnce.Do(func() {
		corpusTok, corpusErr = TrainFiles(context.Background(), paths, TrainConfig{VocabSize: 4096})
	})
	if corpusErr != nil {
		tb.Fatal(corpusErr)
	}
	return corpusTok
}

func corpusBytes(paths []string) int64 {
	var n int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return n
}

// BenchmarkTrainCorpus trains a 4096-token tokenizer on corpus/*.txt.
func BenchmarkTrainCorpus(b *testing.B) {
	paths := corpusFiles(b)
	b.SetBytes(corpusBytes(paths))
	for i := 0; i < b.N; i++ {
		if _, err := TrainFiles(context.Background(), paths, TrainConfig{VocabSize: 4096}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCorpus encodes every line of corpus/*.txt with EncodeBatch
// (all cores, cold word caches each time) and reports tokens per second and
// tokens per line of the ETHICS texts.
func BenchmarkEncodeCorpus(b *testing.B) {
	tk := corpusTokenizer(b)
	paths := corpusFiles(b)
	docs := readDocs(b, paths...)
	b.SetBytes(corpusBytes(paths))
	b.ResetTimer()
	var tokens int
	var spent time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := tk.EncodeBatch(context.Background(), docs)
		spent += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		tokens = 0
		for _, o := range out {
			tokens += len(o)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tokens)*float64(b.N)/spent.Seconds(), "tokens/s")
	b.ReportMetric(float64(tokens), "tokens")
	reportEthics(b, tk)
}

// BenchmarkEncodeCorpusSerial encodes the corpus with Encode on one
// goroutine, starting each pass from a fresh tokenizer (cold shared cache).
func BenchmarkEncodeCorpusSerial(b *testing.B) {
	trained := corpusTokenizer(b)
	paths := corpusFiles(b)
	docs := readDocs(b, paths...)
	b.SetBytes(corpusBytes(paths))
	b.ResetTimer()
	var tokens int
	var spent time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tk, err := Parse(trained.CanonicalJSON())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		tokens = 0
		for _, d := range docs {
			tokens += len(tk.Encode(d))
		}
		spent += time.Since(start)
	}
	b.ReportMetric(float64(tokens)*float64(b.N)/spent.Seconds(), "tokens/s")
}

// reportEthics reports the mean tokens per line of the ETHICS corpus text and
// per scenario of ETHICS utilitarianism train (the reward-model texts).
func reportEthics(b *testing.B, tk *Tokenizer) {
	dir := dataDir(b)
	if p := filepath.Join(dir, "corpus", "ethics-text.txt"); fileExists(p) {
		docs := readDocs(b, p)
		n := 0
		for _, d := range docs {
			n += len(tk.Encode(d))
		}
		b.ReportMetric(float64(n)/float64(len(docs)), "ethics-text-tokens/line")
	}
	if p := filepath.Join(dir, "ethics-util", "train.csv"); fileExists(p) {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = -1
		recs, err := r.ReadAll()
		if err != nil {
			b.Fatalf("%s: %v", p, err)
		}
		n, k, longest := 0, 0, 0
		for _, rec := range recs {
			for _, s := range rec {
				l := len(tk.Encode(strings.TrimSpace(s)))
				n, k, longest = n+l, k+1, max(longest, l)
			}
		}
		b.ReportMetric(float64(n)/float64(k), "ethics-util-tokens/scenario")
		b.ReportMetric(float64(longest), "ethics-util-max-tokens")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
