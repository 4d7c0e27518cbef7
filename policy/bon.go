package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/warm-rm/warm/eval"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/sample"
	"github.com/warm-rm/warm/sweep"
)

// BoNOptions sets up a best-of-N evaluation.
type BoNOptions struct {
	// Prompts are the prompt texts.
	Prompts []string
	// MaxN is the largest N, a power of two; N runs over 1, 2, 4, ..., MaxN
	// and every N is estimated from the same MaxN samples per prompt.
	MaxN int
	// RefSamples independent samples per prompt (default 16) are the
	// "random SFT sample" that picks are also judged against.
	RefSamples int
	// Sample configures sampling (Seed keys every sample).
	Sample sample.Config
	// Rewards are the proxy rewards that pick the best sample.
	Rewards []Reward
	// Control judges the picks (the gold reward on the synthetic task).
	Control Reward
	// Compare lists (A, B) pairs of reward names whose picks are compared
	// (win rate of A's pick against B's, judged by the control reward).
	Compare [][2]string
	// Members, when set, are scored on the pool too, to measure how much
	// their errors on the policy's own samples overlap (MemberErrors).
	Members []Reward
	Log     *slog.Logger
}

// MemberErrors says how the members rank the policy's samples against the
// control reward: over every pair of samples of one prompt whose control
// rewards differ, each member's agreement with the control's order, and the
// mean correlation of the members' errors (1 where a member orders the pair
// against the control, ties included). Averaging can remove only the errors
// members do not share.
type MemberErrors struct {
	Members     []string  `json:"members"`
	Agreement   []float64 `json:"agreement"`
	Correlation float64   `json:"correlation"`
	Pairs       int       `json:"pairs"`
}

// BoNCurve is best-of-N under one proxy reward, for every N.
type BoNCurve struct {
	Reward  string   `json:"reward"`
	Members []string `json:"members,omitempty"`
	// Control is the expected control reward of the pick (mean over
	// prompts) and ControlCI the half-width of its 95% confidence interval
	// over prompts.
	Control   []float64 `json:"control"`
	ControlCI []float64 `json:"control_ci95"`
	// Proxy is the expected proxy reward of the pick (the reward's own
	// scale); ProxyZ the same in standard deviations of the reward over SFT
	// samples, from its SFT mean (comparable across rewards).
	Proxy  []float64 `json:"proxy"`
	ProxyZ []float64 `json:"proxy_z"`
	// SFTMean and SFTStd are the proxy reward's mean and standard
	// deviation over all samples.
	SFTMean float64 `json:"sft_mean"`
	SFTStd  float64 `json:"sft_std"`
	// Tokens is the expected response length of the pick, in tokens.
	Tokens []float64 `json:"tokens"`
	// CorrControl and CorrLength are the Pearson correlations of the
	// proxy reward with the control reward and with the response length
	// (tokens) over one prompt's samples, averaged over prompts (prompts
	// where either side is constant are skipped; nil when all are):
	// whether the proxy ranks samples like the control reward, or by
	// length.
	CorrControl *float64 `json:"corr_control"`
	CorrLength  *float64 `json:"corr_length"`
	// VsRandom is the win rate (control reward, ties split) of the pick
	// against an independent random SFT sample, and VsRandomSE its
	// standard error over prompts.
	VsRandom   []float64 `json:"vs_random"`
	VsRandomSE []float64 `json:"vs_random_se"`
}

// BoNComparison compares the picks of two rewards at every N.
type BoNComparison struct {
	A string `json:"a"`
	B string `json:"b"`
	// Diff is the mean over prompts of the difference in expected control
	// reward (A − B) and DiffSE its standard error (paired over prompts).
	Diff   []float64 `json:"diff"`
	DiffSE []float64 `json:"diff_se"`
	// WinRate is the fraction of draws of N samples where A's pick has the
	// higher control reward (ties, e.g. both picking the same sample,
	// count one half); WinRateSE its standard error over prompts. The MaxN
	// samples of a prompt give MaxN/N disjoint draws.
	WinRate   []float64 `json:"win_rate"`
	WinRateSE []float64 `json:"win_rate_se"`
	// Same is the fraction of draws where both rewards pick the same sample.
	Same []float64 `json:"same"`
}

// BoNResult is what `warm bon` measures.
type BoNResult struct {
	Date       string        `json:"date"`
	Policy     string        `json:"policy"`
	Prompts    int           `json:"prompts"`
	MaxN       int           `json:"max_n"`
	RefSamples int           `json:"ref_samples"`
	Sample     sample.Config `json:"sample"`
	Control    string        `json:"control"`
	Ns         []int         `json:"ns"`
	// KL is KL_BoN = log N − (N−1)/N for each N.
	KL          []float64       `json:"kl"`
	Curves      []BoNCurve      `json:"curves"`
	Comparisons []BoNComparison `json:"comparisons"`
	// MemberErrors is set when BoNOptions.Members was.
	MemberErrors *MemberErrors `json:"member_errors,omitempty"`
	// SFTControl is the mean control reward of a single SFT sample and
	// StoppedFrac the fraction of samples that ended with EOS.
	SFTControl  float64 `json:"sft_control"`
	StoppedFrac float64 `json:"stopped_frac"`
	// Samples and Tokens count what was generated, in GenerateSeconds.
	Samples         int                `json:"samples"`
	Tokens          int                `json:"tokens"`
	GenerateSeconds float64            `json:"generate_seconds"`
	SamplesPerSec   float64            `json:"samples_per_sec"`
	ScoreSeconds    map[string]float64 `json:"score_seconds"`
	Wall            string             `json:"wall"`
}

// Curve returns the curve of the reward named name.
func (r *BoNResult) Curve(name string) *BoNCurve {
	for i := range r.Curves {
		if r.Curves[i].Reward == name {
			return &r.Curves[i]
		}
	}
	return nil
}

func (o *BoNOptions) log() *slog.Logger { return pipeline.Logger(o.Log) }

// BestOfN samples MaxN + RefSamples responses per prompt from p once, scores
// them with every proxy reward and the control reward, and estimates for
// N = 1, 2, 4, ..., MaxN the control and proxy reward of the best-of-N pick
// under each proxy, the picks' win rates against each other and against a
// random sample. Member scores are computed once even when several rewards
// (a member and an ensemble of it) use them.
func BestOfN(ctx context.Context, p *Policy, o BoNOptions) (*BoNResult, error) {
	t0 := time.Now()
	if o.MaxN < 1 || o.MaxN&(o.MaxN-1) != 0 {
		return nil, fmt.Errorf("best-of-N: max N %d is not a power of two", o.MaxN)
	}
	if o.RefSamples == 0 {
		o.RefSamples = 16
	}
	if o.RefSamples < 1 {
		return nil, fmt.Errorf("best-of-N: %d reference samples", o.RefSamples)
	}
	if len(o.Prompts) == 0 {
		return nil, errors.New("best-of-N: no prompts")
	}
	if len(o.Rewards) == 0 || o.Control == nil {
		return nil, errors.New("best-of-N: give proxy rewards and a control reward")
	}
	names := map[string]int{}
	for i, r := range o.Rewards {
		if _, dup := names[r.Name()]; dup {
			return nil, fmt.Errorf("best-of-N: reward %q given twice", r.Name())
		}
		names[r.Name()] = i
	}
	for _, c := range o.Compare {
		for _, n := range c {
			if _, ok := names[n]; !ok {
				return nil, fmt.Errorf("best-of-N: comparison names reward %q, which is not among the rewards", n)
			}
		}
	}
	ps, err := p.EncodePrompts(o.Prompts, o.Sample.MaxTokens)
	if err != nil {
		return nil, fmt.Errorf("best-of-N: %w", err)
	}
	n, R, P := o.MaxN, o.RefSamples, len(o.Prompts)
	per := n + R
	o.log().Info("best-of-N: sampling", "prompts", P, "per_prompt", per)
	tg := time.Now()
	all, err := p.Generate(ctx, ps, per, o.Sample)
	if err != nil {
		return nil, fmt.Errorf("best-of-N: %w", err)
	}
	genSec := time.Since(tg).Seconds()
	res := &BoNResult{
		Date: time.Now().UTC().Format(time.RFC3339), Policy: p.Name, Prompts: P, MaxN: n, RefSamples: R,
		Sample: o.Sample, Control: o.Control.Name(), Samples: len(all), GenerateSeconds: genSec,
		ScoreSeconds: map[string]float64{},
	}
	stopped := 0
	for i := range all {
		res.Tokens += len(all[i].Response)
		if all[i].Stopped {
			res.Tokens++
			stopped++
		}
	}
	res.StoppedFrac = float64(stopped) / float64(len(all))
	res.SamplesPerSec = float64(len(all)) / genSec
	o.log().Info("best-of-N: sampled", "samples", len(all), "tokens", res.Tokens, "seconds", fmt.Sprintf("%.1f", genSec), "samples_per_s", fmt.Sprintf("%.1f", res.SamplesPerSec))

	// The pool (first n samples of each prompt) and the references.
	pool := make([]Sample, 0, P*n)
	refs := make([]Sample, 0, P*R)
	for i := 0; i < P; i++ {
		pool = append(pool, all[i*per:i*per+n]...)
		refs = append(refs, all[i*per+n:(i+1)*per]...)
	}
	batch, refBatch := p.Items(pool), p.Items(refs)
	sc := newScoreCache()
	ts := time.Now()
	control, err := o.Control.Score(ctx, batch)
	if err != nil {
		return nil, fmt.Errorf("best-of-N: control reward: %w", err)
	}
	refControl, err := o.Control.Score(ctx, refBatch)
	if err != nil {
		return nil, fmt.Errorf("best-of-N: control reward: %w", err)
	}
	res.ScoreSeconds[o.Control.Name()] = time.Since(ts).Seconds()
	proxy := make([][]float64, len(o.Rewards))
	for k, r := range o.Rewards {
		ts := time.Now()
		if proxy[k], err = sc.score(ctx, r, batch); err != nil {
			return nil, fmt.Errorf("best-of-N: reward %s: %w", r.Name(), err)
		}
		res.ScoreSeconds[r.Name()] = time.Since(ts).Seconds()
		o.log().Info("best-of-N: scored", "reward", r.Name(), "seconds", fmt.Sprintf("%.1f", res.ScoreSeconds[r.Name()]))
	}
	res.SFTControl, _ = meanSE(control)
	for N := 1; N <= n; N *= 2 {
		res.Ns = append(res.Ns, N)
		res.KL = append(res.KL, KLBoN(N))
	}
	weights := make([][]float64, len(res.Ns))
	for j, N := range res.Ns {
		weights[j] = bonWeights(n, N)
	}
	tokens := make([]float64, len(pool))
	for i := range pool {
		tokens[i] = float64(len(pool[i].Response))
	}
	for k, r := range o.Rewards {
		res.Curves = append(res.Curves, bonCurve(r, proxy[k], control, refControl, tokens, P, n, R, res.Ns, weights))
	}
	for _, c := range o.Compare {
		a, b := names[c[0]], names[c[1]]
		res.Comparisons = append(res.Comparisons, bonCompare(c[0], c[1], proxy[a], proxy[b], control, P, n, res.Ns, weights))
	}
	if len(o.Members) > 0 {
		me := &MemberErrors{}
		var errs [][]float64
		for _, m := range o.Members {
			scores, err := sc.score(ctx, m, batch)
			if err != nil {
				return nil, fmt.Errorf("best-of-N: member %s: %w", m.Name(), err)
			}
			e := pairErrors(scores, control, P, n)
			me.Members = append(me.Members, m.Name())
			me.Agreement = append(me.Agreement, 1-mean(e))
			me.Pairs = len(e)
			errs = append(errs, e)
		}
		me.Correlation, _ = eval.MeanCorrelation(errs)
		res.MemberErrors = me
	}
	res.Wall = time.Since(t0).Round(time.Millisecond).String()
	return res, nil
}

// pairErrors returns, over every pair of samples of one prompt whose
// control rewards differ (prompt-major, the pool's n samples a prompt),
// 1 where proxy orders the pair against control (a proxy tie included).
func pairErrors(proxy, control []float64, P, n int) []float64 {
	var out []float64
	for p := 0; p < P; p++ {
		for i := p * n; i < (p+1)*n; i++ {
			for j := i + 1; j < (p+1)*n; j++ {
				dc := control[i] - control[j]
				if dc == 0 {
					continue
				}
				e := 0.0
				if dp := proxy[i] - proxy[j]; dp == 0 || (dp > 0) != (dc > 0) {
					e = 1
				}
				out = append(out, e)
			}
		}
	}
	return out
}

func mean(xs []float64) float64 {
	m, _ := meanSE(xs)
	return m
}

// bonCurve estimates best-of-N under one proxy.
func bonCurve(r Reward, proxy, control, refControl, tokens []float64, P, n, R int, Ns []int, weights [][]float64) BoNCurve {
	c := BoNCurve{Reward: r.Name()}
	if rm, ok := Underlying(r).(*RM); ok {
		c.Members = rm.Members
	}
	c.SFTMean, c.SFTStd = meanStd(proxy)
	c.CorrControl = meanCorr(proxy, control, n)
	c.CorrLength = meanCorr(proxy, tokens, n)
	perPrompt := make([]float64, P)
	vs := make([]float64, P)
	for j, N := range Ns {
		var proxySum, tokSum float64
		for i := 0; i < P; i++ {
			pr, ct := proxy[i*n:(i+1)*n], control[i*n:(i+1)*n]
			ord := ascending(pr)
			var e float64
			for rank, s := range ord {
				w := weights[j][rank]
				e += w * ct[s]
				proxySum += w * pr[s]
				tokSum += w * tokens[i*n+s]
			}
			perPrompt[i] = e
			// Win rate against a random sample: the pick of each disjoint
			// draw of N against every reference sample.
			ref := refControl[i*R : (i+1)*R]
			var wsum float64
			for lo := 0; lo < n; lo += N {
				pick := lo + argmax(pr[lo:lo+N])
				for _, rc := range ref {
					wsum += win(ct[pick], rc)
				}
			}
			vs[i] = wsum / float64((n/N)*R)
		}
		m, se := meanSE(perPrompt)
		c.Control = append(c.Control, m)
		c.ControlCI = append(c.ControlCI, z95*se)
		pm := proxySum / float64(P)
		c.Proxy = append(c.Proxy, pm)
		z := 0.0
		if c.SFTStd > 0 {
			z = (pm - c.SFTMean) / c.SFTStd
		}
		c.ProxyZ = append(c.ProxyZ, z)
		c.Tokens = append(c.Tokens, tokSum/float64(P))
		vm, vse := meanSE(vs)
		c.VsRandom = append(c.VsRandom, vm)
		c.VsRandomSE = append(c.VsRandomSE, vse)
	}
	return c
}

// bonCompare compares the picks of two proxies on the same samples.
func bonCompare(an, bn string, pa, pb, control []float64, P, n int, Ns []int, weights [][]float64) BoNComparison {
	c := BoNComparison{A: an, B: bn}
	diff := make([]float64, P)
	wins := make([]float64, P)
	same := 0.0
	for j, N := range Ns {
		same = 0
		for i := 0; i < P; i++ {
			ct := control[i*n : (i+1)*n]
			ea, eb := expectAt(pa[i*n:(i+1)*n], ct, weights[j]), expectAt(pb[i*n:(i+1)*n], ct, weights[j])
			diff[i] = ea - eb
			var w float64
			for lo := 0; lo < n; lo += N {
				ia := lo + argmax(pa[i*n+lo:i*n+lo+N])
				ib := lo + argmax(pb[i*n+lo:i*n+lo+N])
				w += win(ct[ia], ct[ib])
				if ia == ib {
					same++
				}
			}
			wins[i] = w / float64(n/N)
		}
		m, se := meanSE(diff)
		c.Diff = append(c.Diff, m)
		c.DiffSE = append(c.DiffSE, se)
		wm, wse := meanSE(wins)
		c.WinRate = append(c.WinRate, wm)
		c.WinRateSE = append(c.WinRateSE, wse)
		c.Same = append(c.Same, same/float64(P*(n/N)))
	}
	return c
}

// expectAt is the best-of-N expectation of values under proxy with weights.
func expectAt(proxy, values, w []float64) float64 {
	var e float64
	for rank, s := range ascending(proxy) {
		e += w[rank] * values[s]
	}
	return e
}

// scoreCache scores each distinct reward model once per batch: an ensemble
// reuses the scores of members scored on their own (or in another
// ensemble).
type scoreCache struct {
	done map[Reward][]float64
}

func newScoreCache() *scoreCache { return &scoreCache{done: map[Reward][]float64{}} }

func (c *scoreCache) score(ctx context.Context, r Reward, b *Batch) ([]float64, error) {
	u := Underlying(r)
	if s, ok := c.done[u]; ok {
		return s, nil
	}
	var s []float64
	if e, ok := u.(*Ensemble); ok {
		parts := make([][]float64, len(e.Members))
		for k, m := range e.Members {
			p, err := c.score(ctx, m, b)
			if err != nil {
				return nil, err
			}
			parts[k] = p
		}
		s = sweep.Mean(parts)
	} else {
		var err error
		if s, err = u.Score(ctx, b); err != nil {
			return nil, err
		}
	}
	if len(s) != len(b.Items) {
		return nil, fmt.Errorf("reward %s returned %d scores for %d items", r.Name(), len(s), len(b.Items))
	}
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("reward %s: score %v for item %d", r.Name(), v, i)
		}
	}
	c.done[u] = s
	return s, nil
}
