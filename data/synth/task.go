package synth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/warm-rm/warm/data"
)

// Config sizes and parameterises the synthetic task. The zero value is not
// useful; start from [DefaultConfig].
type Config struct {
	// Seed determines everything generated.
	Seed uint64 `json:"seed"`
	// TrainPairs, TestPairs, OODDevPairs and OODTestPairs are the numbers of
	// preference pairs in each split.
	TrainPairs   int `json:"train_pairs"`
	TestPairs    int `json:"test_pairs"`
	OODDevPairs  int `json:"ood_dev_pairs"`
	OODTestPairs int `json:"ood_test_pairs"`
	// PairsPerPost is how many train pairs share a post (evaluation splits
	// use one pair per post).
	PairsPerPost int `json:"pairs_per_post"`
	// Prompts is the number of held-out prompts for policy sampling.
	Prompts int `json:"prompts"`
	// SFTExamples is the number of SFT demonstrations, drawn over the train
	// posts in turn.
	SFTExamples int `json:"sft_examples"`
	// CorpusBytes is the approximate size of the pre-training corpus.
	CorpusBytes int `json:"corpus_bytes"`
	// Beta is the Bradley-Terry inverse temperature of the labeller:
	// P(first preferred) = sigmoid(Beta * (gold1 - gold2)). 0 gives coin
	// flips; larger is more consistent.
	Beta float64 `json:"beta"`
	// MinGap is the smallest gold difference a pair may have; the second
	// summary is redrawn (up to 100 times) until the gap is reached.
	MinGap float64 `json:"min_gap"`
	// CorruptRate is the fraction of train labels flipped after the
	// Bradley-Terry draw (data.Corrupt with Seed); 0 for none.
	CorruptRate float64 `json:"corrupt_rate"`
	// LongerBetter, when > 0, sets how often the spurious length feature
	// holds in the in-distribution splits (train and test): the fraction of
	// their pairs whose longer response (in bytes) has the higher gold
	// reward. Each pair draws its class with this probability and pairs are
	// redrawn until one of that class comes (pairs of equal length are
	// redrawn too). 0.5 removes the feature; 0 leaves the natural mix,
	// about 0.76 (the default task). OOD splits are never changed.
	LongerBetter float64 `json:"longer_better,omitempty"`
}

// DefaultConfig returns the default task: 20k train pairs, 2k ID test, 1k OOD
// dev, 2k OOD test, 512 held-out prompts, 10k SFT demonstrations and a 4 MiB
// corpus, beta 2.
func DefaultConfig() Config {
	return Config{
		Seed:         1,
		TrainPairs:   20000,
		TestPairs:    2000,
		OODDevPairs:  1000,
		OODTestPairs: 2000,
		PairsPerPost: 2,
		Prompts:      512,
		SFTExamples:  10000,
		CorpusBytes:  4 << 20,
		Beta:         2,
		MinGap:       0.1,
		CorruptRate:  0,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"train pairs", c.TrainPairs}, {"test pairs", c.TestPairs}, {"OOD dev pairs", c.OODDevPairs},
		{"OOD test pairs", c.OODTestPairs}, {"prompts", c.Prompts}, {"SFT examples", c.SFTExamples}, {"corpus bytes", c.CorpusBytes}} {
		if f.v < 0 {
			return fmt.Errorf("synth: %s must be >= 0, got %d", f.name, f.v)
		}
	}
	if c.PairsPerPost < 1 {
		return fmt.Errorf("synth: pairs per post must be >= 1, got %d", c.PairsPerPost)
	}
	if c.SFTExamples > 0 && c.TrainPairs == 0 {
		return errors.New("synth: SFT examples are drawn over train posts, so train pairs must be > 0")
	}
	if math.IsNaN(c.Beta) || math.IsInf(c.Beta, 0) || c.Beta < 0 {
		return fmt.Errorf("synth: beta must be finite and >= 0, got %v", c.Beta)
	}
	if math.IsNaN(c.MinGap) || c.MinGap < 0 || c.MinGap > 1 {
		return fmt.Errorf("synth: min gap must be in [0, 1], got %v", c.MinGap)
	}
	if math.IsNaN(c.CorruptRate) || c.CorruptRate < 0 || c.CorruptRate > 1 {
		return fmt.Errorf("synth: corrupt rate must be in [0, 1], got %v", c.CorruptRate)
	}
	if math.IsNaN(c.LongerBetter) || c.LongerBetter < 0 || c.LongerBetter >= 1 {
		return fmt.Errorf("synth: longer_better must be in [0, 1) (0: the natural mix), got %v", c.LongerBetter)
	}
	return nil
}

// Pair kinds, recorded per pair in [Split].Kinds.
const (
	// KindID is an in-distribution pair: two SampleID summaries.
	KindID = "id"
	// KindConciseRambling pairs a SampleConcise and a SampleRambling summary.
	KindConciseRambling = "concise_vs_rambling"
	// KindPadded pairs a clean summary with the same summary padded (see
	// SamplePadded).
	KindPadded = "padded"
	// KindSalientMinor pairs a SampleConcise summary (salient facts only)
	// with a SampleMinor one (minor facts only, usually longer).
	KindSalientMinor = "salient_vs_minor"
)

// Split is one set of preference pairs of the task.
type Split struct {
	// Name is the split's name ("train", "test", "ood_dev", "ood_test").
	Name string
	// Pairs are the labelled pairs.
	Pairs []data.Pair
	// Kinds holds each pair's kind (KindID, KindConciseRambling, KindPadded).
	Kinds []string
}

// Task is a generated synthetic task.
type Task struct {
	// Config is the configuration it was generated from.
	Config Config
	// Train, Test (in-distribution), OODDev and OODTest are the pair splits.
	// Their posts are pairwise disjoint.
	Train, Test, OODDev, OODTest Split
	// Prompts are held-out prompts for policy sampling (best-of-N, RL),
	// disjoint from every split's posts.
	Prompts []data.Example
	// SFT holds demonstrations (train posts with good summaries).
	SFT []data.Example
	// Corpus is the pre-training text, one document ("<prompt><summary>") a
	// line, from posts disjoint from all of the above.
	Corpus []string
}

// Splits returns the four pair splits in file order.
func (t *Task) Splits() []*Split { return []*Split{&t.Train, &t.Test, &t.OODDev, &t.OODTest} }

// PCG streams: every part of the task draws from its own stream of Seed.
const (
	streamOODTest = 101 + iota
	streamOODDev
	streamTest
	streamPrompts
	streamTrain
	streamSFT
	streamCorpus
)

// postSource draws posts no other part of the task has used.
type postSource struct {
	seen map[string]bool
}

func (ps *postSource) next(rng *rand.Rand) Post {
	for {
		p := NewPost(rng)
		if k := p.key(); !ps.seen[k] {
			ps.seen[k] = true
			return p
		}
	}
}

// Generate builds the whole task from cfg. It is deterministic: the same
// config gives identical output. Parts are drawn in a fixed order (OOD test,
// OOD dev, ID test, prompts, train, SFT, corpus), each from its own PCG
// stream, and a post is never reused across parts; so changing the train
// size or corpus size leaves the evaluation sets and prompts unchanged.
func Generate(ctx context.Context, cfg Config) (*Task, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ps := &postSource{seen: map[string]bool{}}
	t := &Task{Config: cfg}
	var err error
	if t.OODTest, err = genSplit(ctx, ps, cfg, "ood_test", streamOODTest, cfg.OODTestPairs, 1, true); err != nil {
		return nil, err
	}
	if t.OODDev, err = genSplit(ctx, ps, cfg, "ood_dev", streamOODDev, cfg.OODDevPairs, 1, true); err != nil {
		return nil, err
	}
	if t.Test, err = genSplit(ctx, ps, cfg, "test", streamTest, cfg.TestPairs, 1, false); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, streamPrompts))
	for i := range cfg.Prompts {
		t.Prompts = append(t.Prompts, data.Example{ID: i, Prompt: ps.next(rng).Prompt(), Source: fmt.Sprintf("prompts.jsonl:%d", i+1)})
	}
	var trainPosts []Post
	if t.Train, trainPosts, err = genSplitPosts(ctx, ps, cfg, "train", streamTrain, cfg.TrainPairs, cfg.PairsPerPost, false); err != nil {
		return nil, err
	}
	if cfg.CorruptRate > 0 {
		if t.Train.Pairs, err = data.Corrupt(t.Train.Pairs, cfg.CorruptRate, cfg.Seed); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	rng = rand.New(rand.NewPCG(cfg.Seed, streamSFT))
	for i := range cfg.SFTExamples {
		post := trainPosts[i%len(trainPosts)]
		t.SFT = append(t.SFT, data.Example{ID: i, Prompt: post.Prompt(), Response: SampleGood(rng, post), Source: fmt.Sprintf("sft.jsonl:%d", i+1)})
	}
	rng = rand.New(rand.NewPCG(cfg.Seed, streamCorpus))
	for size := 0; size < cfg.CorpusBytes; {
		if len(t.Corpus)%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		post := ps.next(rng)
		doc := post.Prompt() + SampleID(rng, post, rng.Float64())
		t.Corpus = append(t.Corpus, doc)
		size += len(doc) + 1
	}
	return t, nil
}

// SampleGood draws an SFT demonstration: the in-distribution sampler at
// quality 0.5..1. Demonstrations are good but not perfect (some miss facts,
// a few carry an error), so a policy trained on them leaves room for
// best-of-N and RL to improve the gold reward.
func SampleGood(rng *rand.Rand, post Post) string {
	return SampleID(rng, post, 0.5+0.5*rng.Float64())
}

func genSplit(ctx context.Context, ps *postSource, cfg Config, name string, stream uint64, n, perPost int, ood bool) (Split, error) {
	s, _, err := genSplitPosts(ctx, ps, cfg, name, stream, n, perPost, ood)
	return s, err
}

// genSplitPosts draws n labelled pairs, perPost per fresh post, and returns
// them with the posts used.
func genSplitPosts(ctx context.Context, ps *postSource, cfg Config, name string, stream uint64, n, perPost int, ood bool) (Split, []Post, error) {
	rng := rand.New(rand.NewPCG(cfg.Seed, stream))
	s := Split{Name: name, Pairs: make([]data.Pair, 0, n), Kinds: make([]string, 0, n)}
	var posts []Post
	var post Post
	for i := range n {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return Split{}, nil, err
			}
		}
		if i%perPost == 0 {
			post = ps.next(rng)
			posts = append(posts, post)
		}
		a, b, kind := drawPair(rng, post, cfg.MinGap, ood)
		if cfg.LongerBetter > 0 && !ood {
			a, b = drawLengthClass(rng, post, cfg, a, b)
		}
		ga, gb := post.Score(a).Reward, post.Score(b).Reward
		chosen, rejected := a, b
		if rng.Float64() >= sigmoid(cfg.Beta*(ga-gb)) {
			chosen, rejected = b, a
		}
		s.Pairs = append(s.Pairs, data.Pair{ID: i, Prompt: post.Prompt(), Chosen: chosen, Rejected: rejected, Source: fmt.Sprintf("%s.jsonl:%d", name, i+1)})
		s.Kinds = append(s.Kinds, kind)
	}
	return s, posts, nil
}

// drawPair draws two different summaries of post, in random order, whose
// gold rewards differ by at least minGap when that can be found in 100
// tries. In-distribution pairs are two SampleID summaries of independent
// quality. OOD pairs are concise-vs-rambling (35%), salient-vs-minor (35%),
// clean-vs-padded (15%) or in-distribution (15%).
func drawPair(rng *rand.Rand, post Post, minGap float64, ood bool) (a, b, kind string) {
	kind = KindID
	if ood {
		switch u := rng.Float64(); {
		case u < 0.35:
			kind = KindConciseRambling
		case u < 0.70:
			kind = KindSalientMinor
		case u < 0.85:
			kind = KindPadded
		}
	}
	for try := 0; ; try++ {
		switch kind {
		case KindConciseRambling:
			a, b = SampleConcise(rng, post), SampleRambling(rng, post)
		case KindPadded:
			a, b = SamplePadded(rng, post)
		case KindSalientMinor:
			a, b = SampleConcise(rng, post), SampleMinor(rng, post)
		default:
			a, b = SampleID(rng, post, rng.Float64()), SampleID(rng, post, rng.Float64())
		}
		if rng.IntN(2) == 0 {
			a, b = b, a
		}
		if a == b && try < 10000 { // posts have >= 3 facts: two draws are practically never all identical
			continue
		}
		if math.Abs(post.Score(a).Reward-post.Score(b).Reward) >= minGap || try >= 100 {
			return a, b, kind
		}
	}
}

// drawLengthClass returns an in-distribution pair of post whose length
// class (the longer response has the higher gold reward, or not) is drawn
// with probability cfg.LongerBetter, redrawing pairs from (a, b) on until
// one of that class comes (at most 1000 tries; pairs of equal length never
// match).
func drawLengthClass(rng *rand.Rand, post Post, cfg Config, a, b string) (string, string) {
	want := rng.Float64() < cfg.LongerBetter
	for try := 0; try < 1000; try++ {
		if len(a) != len(b) {
			ga, gb := post.Score(a).Reward, post.Score(b).Reward
			if ga != gb && (len(a) > len(b)) == (ga > gb) == want {
				break
			}
		}
		a, b, _ = drawPair(rng, post, cfg.MinGap, false)
	}
	return a, b
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
