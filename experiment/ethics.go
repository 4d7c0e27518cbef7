package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sweep"
)

// foodWords mark an ETHICS scenario as being about food and eating: the
// topic held out of training to make the natural distribution shift.
var foodWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`ate eat eating eats dinner dinners lunch breakfast brunch restaurant restaurants
		pizza cake cakes coffee cooked cook cooking cookies cookie cream food foods meal meals tasted taste tastes drink
		drinks drank ordered grocery groceries snack snacks sandwich sandwiches burger burgers fries chicken soup dessert
		desserts bakery chocolate candy fruit steak pasta salad cereal bread milk juice beer wine tea donut donuts pie bbq
		barbecue hungry delicious sushi tacos taco buffet cafe cafeteria diner menu`) {
		foodWords[w] = true
	}
}

var wordRE = regexp.MustCompile(`[a-z']+`)

// IsFood reports whether either scenario of a pair mentions food or eating.
func IsFood(p data.Pair) bool {
	for _, w := range wordRE.FindAllString(strings.ToLower(p.Chosen+" "+p.Rejected), -1) {
		if foodWords[w] {
			return true
		}
	}
	return false
}

func splitFood(pairs []data.Pair) (other, food []data.Pair) {
	for _, p := range pairs {
		if IsFood(p) {
			food = append(food, p)
		} else {
			other = append(other, p)
		}
	}
	return other, food
}

// ETHICS prepares the real-data track from shared (the directory holding
// ethics-util/, corpus/ and hh-rlhf/) into dir/data:
//
//   - train.jsonl: ETHICS utilitarianism train pairs NOT about food;
//   - test.jsonl (ID): test pairs not about food;
//   - ood_dev.jsonl: the train pairs about food (never trained on; ranks
//     members), ood_test.jsonl: the test pairs about food — a natural topic
//     shift of our own design (about 17-20% of each split);
//   - test_hard.jsonl: test_hard_dev, adversarially filtered against
//     surface cues;
//   - hh_harmless.jsonl: HH-RLHF harmless-base test, a far shift (another
//     task and format), subsampled by the evaluation.
//
// The corpus (Brown + other ETHICS tasks) pre-trains the base; SFT uses the
// preferred scenarios of train.jsonl.
func ETHICS(ctx context.Context, dir, shared string) (*Task, error) {
	util := filepath.Join(shared, "ethics-util")
	load := func(name string) ([]data.Pair, error) {
		p, _, err := data.LoadPairs(filepath.Join(util, name), data.LoadOptions{})
		return p, err
	}
	trainAll, err := load("train.csv")
	if err != nil {
		return nil, fmt.Errorf("ETHICS data (is %s the shared data directory?): %w", shared, err)
	}
	testAll, err := load("test.csv")
	if err != nil {
		return nil, err
	}
	hard, err := load("test_hard_dev.csv")
	if err != nil {
		return nil, err
	}
	hh, _, err := data.LoadPairs(filepath.Join(shared, "hh-rlhf", "harmless-base-test.jsonl.gz"), data.LoadOptions{})
	if err != nil {
		return nil, err
	}
	trainPairs, oodDev := splitFood(trainAll)
	test, oodTest := splitFood(testAll)
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	files := map[string][]data.Pair{
		"train.jsonl": trainPairs, "test.jsonl": test, "ood_dev.jsonl": oodDev, "ood_test.jsonl": oodTest,
		"test_hard.jsonl": hard, "hh_harmless.jsonl": hh,
	}
	for name, pairs := range files {
		p := filepath.Join(dataDir, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := data.WriteTRL(p, pairs); err != nil {
			return nil, err
		}
	}
	corpus := []string{filepath.Join(shared, "corpus", "brown.txt"), filepath.Join(shared, "corpus", "ethics-text.txt")}
	at := func(name string) string { return filepath.Join(dataDir, name) }
	return &Task{
		Title:       "ETHICS utilitarianism",
		CorpusFiles: corpus,
		SFT:         data.SFTFromPairs(trainPairs),
		Train:       at("train.jsonl"),
		Eval: []sweep.EvalSet{
			{Name: "test", Path: at("test.jsonl")},
			{Name: "ood_dev", Path: at("ood_dev.jsonl")},
			{Name: "ood_test", Path: at("ood_test.jsonl")},
			{Name: "test_hard", Path: at("test_hard.jsonl")},
			{Name: "hh_harmless", Path: at("hh_harmless.jsonl")},
		},
		Vocab:    4096,
		Shape:    ETHICSShape,
		Pretrain: pipeline.EthicsPretrainConfig(),
		SFTCfg:   pipeline.EthicsSFTConfig(),
		Member:   pipeline.EthicsMemberConfig(),
		// Centred on 3e-4, the best of {3e-5, 3e-4, 1e-3} for one RM on a
		// 90/10 split of train (bench/ethics_quality.sh, docs/CORE.md),
		// spanning 10x as the paper's 1e-5..1e-4 does for its larger models.
		LRs:      []float64{1e-4, 3e-4, 1e-3},
		Dropouts: []float32{0, 0.1},
		MaxLen:   64,
		Notes: []string{fmt.Sprintf("ETHICS utilitarianism: %d train pairs (food scenarios held out), ID test %d, OOD dev %d (train pairs about food), OOD test %d (test pairs about food), test_hard %d (adversarial), HH harmless %d (far shift). Pre-training corpus: Brown + the other ETHICS tasks.",
			len(trainPairs), len(test), len(oodDev), len(oodTest), len(hard), len(hh))},
	}, nil
}

// ETHICSShape is the base model of the ETHICS track.
var ETHICSShape = pipeline.Shape{D: 128, Layers: 4, Heads: 4, Context: 64}
