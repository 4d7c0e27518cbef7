package synth

// The world: every fact is "<name> <verb> the <object>". The tables are
// small and fixed so that a ~1-2k BPE vocabulary holds each word as one or
// two tokens, and a tiny model can learn the whole language.

// names are the entities (40).
var names = []string{
	"mara", "tom", "ana", "ben", "lucy", "omar", "ivy", "raj", "nina", "leo",
	"zoe", "sam", "eva", "max", "ada", "kai", "lena", "hugo", "mia", "noah",
	"ella", "finn", "rosa", "jack", "iris", "theo", "lily", "dan", "maya", "otto",
	"june", "paul", "vera", "eli", "nora", "ravi", "tess", "igor", "ruth", "cole",
}

// verb is a predicate with its past tense (active clauses) and past
// participle (passive clauses), and whether facts using it are salient.
type verb struct {
	past, participle string
	salient          bool
}

// verbs: the first 8 are salient (events a summary must report), the other
// 12 are minor. Salience is a property of the verb alone, so a model can learn
// it from a clause without seeing the post.
var verbs = []verb{
	{"sold", "sold", true},
	{"lost", "lost", true},
	{"stole", "stolen", true},
	{"broke", "broken", true},
	{"won", "won", true},
	{"burned", "burned", true},
	{"bought", "bought", true},
	{"crashed", "crashed", true},
	{"cleaned", "cleaned", false},
	{"painted", "painted", false},
	{"moved", "moved", false},
	{"checked", "checked", false},
	{"liked", "liked", false},
	{"borrowed", "borrowed", false},
	{"fixed", "fixed", false},
	{"carried", "carried", false},
	{"washed", "washed", false},
	{"showed", "shown", false},
	{"saw", "seen", false},
	{"packed", "packed", false},
}

// objects are the things facts are about (30).
var objects = []string{
	"boat", "car", "house", "bike", "phone", "laptop", "ring", "watch", "guitar", "piano",
	"camera", "tent", "ticket", "wallet", "key", "lamp", "sofa", "radio", "map", "kite",
	"drum", "clock", "vase", "chair", "desk", "coat", "hat", "book", "letter", "painting",
}

// openers may start a post; fillers may sit between fact sentences. None of
// them contains a name, a verb form or an object, so they never parse as
// facts (a test checks this).
var openers = []string{
	"so here is what happened.",
	"long story short.",
	"i need some advice.",
	"bear with me.",
	"this is a weird one.",
	"okay so.",
}

var fillers = []string{
	"i do not know what to do.",
	"it was a strange day.",
	"everyone was upset.",
	"nobody expected it.",
	"we laughed about it.",
	"that was not the plan.",
	"my friends think it is funny.",
}

// adverbs may open a fact sentence.
var adverbs = []string{"yesterday", "last week", "then", "sadly", "apparently", "later", "today"}

// Lookup tables built once from the word lists.
var (
	nameIndex       = indexOf(names)
	objectIndex     = indexOf(objects)
	pastIndex       = map[string]int{}
	participleIndex = map[string]int{}
	salientVerbs    []int
	minorVerbs      []int
)

func init() {
	for i, v := range verbs {
		pastIndex[v.past] = i
		participleIndex[v.participle] = i
		if v.salient {
			salientVerbs = append(salientVerbs, i)
		} else {
			minorVerbs = append(minorVerbs, i)
		}
	}
}

func indexOf(words []string) map[string]int {
	m := make(map[string]int, len(words))
	for i, w := range words {
		m[w] = i
	}
	return m
}
