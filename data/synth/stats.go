package synth

import (
	"math"
	"slices"
	"strings"
)

// SplitStats describes one split of preference pairs against the gold
// reward. Label-based figures use the clean (uncorrupted) labels.
type SplitStats struct {
	// Name is the split's name.
	Name string `json:"name"`
	// Pairs is the number of pairs; Flipped the number with a corrupted
	// label.
	Pairs   int `json:"pairs"`
	Flipped int `json:"flipped"`
	// LongerWins is the fraction of pairs, among those whose responses differ
	// in length (bytes), where the longer response is the clean label's
	// choice: how often the spurious "longer is better" rule is right.
	LongerWins float64 `json:"longer_wins"`
	// LongerWinsGold is the same against the gold order (pairs with equal
	// gold excluded).
	LongerWinsGold float64 `json:"longer_wins_gold"`
	// LengthTies is the fraction of pairs whose responses have equal length.
	LengthTies float64 `json:"length_ties"`
	// LabelAgreesGold is the fraction of pairs whose clean label prefers the
	// response with the higher gold reward (1 - the labeller's noise).
	LabelAgreesGold float64 `json:"label_agrees_gold"`
	// ExpectedAgree is the agreement the Bradley-Terry labeller implies:
	// the mean of sigmoid(beta*|gold difference|).
	ExpectedAgree float64 `json:"expected_agree"`
	// MeanGoldChosen and MeanGoldRejected are mean gold rewards of the
	// clean label's chosen and rejected responses.
	MeanGoldChosen   float64 `json:"mean_gold_chosen"`
	MeanGoldRejected float64 `json:"mean_gold_rejected"`
	// MeanPromptWords, MeanResponseWords: mean word counts.
	MeanPromptWords   float64 `json:"mean_prompt_words"`
	MeanResponseWords float64 `json:"mean_response_words"`
	// ApproxTokensP95 and ApproxTokensMax estimate sequence lengths
	// (prompt + response + EOS) in tokens of a small word-level BPE, counted
	// as words + punctuation marks + 1.
	ApproxTokensP95 int `json:"approx_tokens_p95"`
	ApproxTokensMax int `json:"approx_tokens_max"`
	// Kinds counts pairs per kind.
	Kinds map[string]int `json:"kinds"`
}

// ApproxTokens estimates the token count of a text for a small BPE trained
// on this language: words plus punctuation marks.
func ApproxTokens(s string) int {
	return len(strings.Fields(s)) + strings.Count(s, ".") + strings.Count(s, ";") + strings.Count(s, ":")
}

// Stats computes the statistics of a split; beta is the labeller's inverse
// temperature.
func (s Split) Stats(beta float64) SplitStats {
	st := SplitStats{Name: s.Name, Pairs: len(s.Pairs), Kinds: map[string]int{}}
	if len(s.Pairs) == 0 {
		return st
	}
	var longer, longerN, longerGold, longerGoldN, ties, agree, agreeN int
	var expAgree, gc, gr, pw, rw float64
	var lens []int
	var post Post
	lastPrompt := ""
	for i, p := range s.Pairs {
		if i < len(s.Kinds) {
			st.Kinds[s.Kinds[i]]++
		}
		if p.Flipped {
			st.Flipped++
		}
		if i == 0 || p.Prompt != lastPrompt {
			post, lastPrompt = ParsePost(p.Prompt), p.Prompt
		}
		c, r := p.Original()
		g1, g2 := post.Score(c).Reward, post.Score(r).Reward
		gc += g1
		gr += g2
		switch {
		case len(c) == len(r):
			ties++
		default:
			longerN++
			if len(c) > len(r) {
				longer++
			}
			if g1 != g2 {
				longerGoldN++
				if (len(c) > len(r)) == (g1 > g2) {
					longerGold++
				}
			}
		}
		if g1 != g2 {
			agreeN++
			if g1 > g2 {
				agree++
			}
		}
		expAgree += sigmoid(beta * math.Abs(g1-g2))
		pw += float64(len(strings.Fields(p.Prompt)))
		rw += float64(len(strings.Fields(c))+len(strings.Fields(r))) / 2
		pt := ApproxTokens(p.Prompt) + 1
		lens = append(lens, pt+ApproxTokens(c), pt+ApproxTokens(r))
	}
	n := float64(len(s.Pairs))
	st.LongerWins = frac(longer, longerN)
	st.LongerWinsGold = frac(longerGold, longerGoldN)
	st.LengthTies = float64(ties) / n
	st.LabelAgreesGold = frac(agree, agreeN)
	st.ExpectedAgree = expAgree / n
	st.MeanGoldChosen, st.MeanGoldRejected = gc/n, gr/n
	st.MeanPromptWords, st.MeanResponseWords = pw/n, rw/n
	slices.Sort(lens)
	st.ApproxTokensP95 = lens[(len(lens)*95)/100]
	st.ApproxTokensMax = lens[len(lens)-1]
	return st
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Stats returns the statistics of the four pair splits.
func (t *Task) Stats() []SplitStats {
	var out []SplitStats
	for _, s := range t.Splits() {
		out = append(out, s.Stats(t.Config.Beta))
	}
	return out
}
