package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/scorer"
)

// loaded is what the server serves: one reward model (a single RM or a
// merged WARM checkpoint), or the members of a prediction ensemble (ENS:
// the mean of their rewards, with their standard deviation as the
// uncertainty).
type loaded struct {
	dirs    []string
	members []*scorer.Scorer
	// warm is the weight average of the members (--warm): what is served;
	// the members then only give the uncertainty, when asked.
	warm *scorer.Scorer
	// fingerprint identifies the served weights: the model's own, or a
	// hash of the members' for an ensemble.
	fingerprint string
	// accuracy is the pairwise accuracy on Options.ReloadPairs (NaN when
	// none are given), measured before the model was published.
	accuracy float64
}

// served is the scorer whose weights answer requests (the average for
// --warm, the first member otherwise): its base fingerprint is the one a
// reload must keep.
func (l *loaded) served() *scorer.Scorer {
	if l.warm != nil {
		return l.warm
	}
	return l.members[0]
}

// check runs the checks a model must pass before it is served: every
// weight finite, a finite reward on a probe, and its accuracy on the
// reload pairs.
func (l *loaded) check(o *Options) error {
	type finite interface{ CheckFinite() error }
	for _, m := range append(append([]*scorer.Scorer(nil), l.members...), l.warm) {
		if m == nil {
			continue
		}
		if f, ok := m.Model.(finite); ok {
			if err := f.CheckFinite(); err != nil {
				return fmt.Errorf("%s: %w", m.Dir, err)
			}
		}
	}
	probe, err := l.enc().EncodeText("the reward server checks this model before serving it")
	if err != nil {
		return err
	}
	if n := l.enc().Model.MaxLen(); len(probe) > n {
		probe = probe[len(probe)-n:]
	}
	r, _, err := l.rewards([][]int32{probe}, false)
	if err != nil {
		return err
	}
	if math.IsNaN(float64(r[0])) || math.IsInf(float64(r[0]), 0) {
		return fmt.Errorf("%s gives a non-finite reward (%v) on a probe text: are its weights finite?", l.describe(), r[0])
	}
	l.accuracy = math.NaN()
	if len(o.ReloadPairs) == 0 {
		return nil
	}
	var seqs [][]int32
	for _, p := range o.ReloadPairs {
		for _, resp := range []string{p.Chosen, p.Rejected} {
			ids, err := l.enc().Encode(scorer.Record{Source: p.Source, Prompt: &p.Prompt, Response: &resp})
			if err != nil {
				return err
			}
			seqs = append(seqs, ids)
		}
	}
	rw := make([]float32, 0, len(seqs))
	for lo := 0; lo < len(seqs); lo += 32 {
		part, _, err := l.rewards(seqs[lo:min(lo+32, len(seqs))], false)
		if err != nil {
			return err
		}
		rw = append(rw, part...)
	}
	correct := 0
	for i := 0; i < len(rw); i += 2 {
		if rw[i] > rw[i+1] {
			correct++
		}
	}
	l.accuracy = float64(correct) / float64(len(o.ReloadPairs))
	return nil
}

// load loads the reward models in dirs (one, or an ensemble's members,
// which must read the same tokens); with o.WARM, it also averages the
// members (loadWARM).
func load(dirs []string, o *Options) (*loaded, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("no model to serve")
	}
	l := &loaded{dirs: dirs}
	for _, d := range dirs {
		s, err := scorer.Load(d)
		if err != nil {
			return nil, err
		}
		if s.Tok == nil {
			return nil, fmt.Errorf("%s has no tokenizer.json: a server scores texts", d)
		}
		if strings.HasPrefix(s.Fingerprint, safetensors.HeaderIdentityPrefix) {
			// A checkpoint of another tool carries no content fingerprint,
			// and its header identity does not change when new weights of
			// the same shapes land: hash the content, so a reload shows.
			if s.Fingerprint, err = contentFingerprint(d); err != nil {
				return nil, err
			}
		}
		if len(l.members) > 0 {
			if err := compatible(l.members[0], s); err != nil {
				return nil, fmt.Errorf("ensemble member %s: %w", d, err)
			}
		}
		l.members = append(l.members, s)
	}
	switch {
	case o.WARM:
		if err := l.loadWARM(o); err != nil {
			return nil, err
		}
	case len(l.members) == 1:
		l.fingerprint = l.members[0].Fingerprint
	default:
		h := sha256.New()
		for _, m := range l.members {
			h.Write([]byte(m.Fingerprint + "\n"))
		}
		l.fingerprint = "ens:" + hex.EncodeToString(h.Sum(nil))[:32]
	}
	if !o.NoPack {
		l.pack()
	}
	if err := l.check(o); err != nil {
		return nil, err
	}
	return l, nil
}

// pack packs the weights of the models that answer every request (the
// single model, an ensemble's members, the WARM average) for inference:
// each is only scored from now on, a reload loading new ones. The members
// of --warm, run only for the uncertainty, stay unpacked rather than cost
// their weights again in memory.
func (l *loaded) pack() {
	if l.warm != nil {
		l.warm.PackForInference()
		return
	}
	for _, m := range l.members {
		m.PackForInference()
	}
}

func contentFingerprint(dir string) (string, error) {
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return "", err
	}
	defer set.Close()
	return set.Fingerprint(context.Background(), 0)
}

// compatible checks that b reads exactly the tokens a does (same family,
// tokenizer and chat template), so requests encoded for one can be scored
// by the other.
func compatible(a, b *scorer.Scorer) error {
	switch {
	case a.Family != b.Family:
		return fmt.Errorf("model type %s, not %s", b.Family, a.Family)
	case a.Tok.Fingerprint() != b.Tok.Fingerprint():
		return fmt.Errorf("its tokenizer.json differs from %s's", a.Dir)
	case (a.Chat == nil) != (b.Chat == nil) || a.Chat != nil && a.Chat.Source != b.Chat.Source:
		return fmt.Errorf("its chat template differs from %s's", a.Dir)
	case a.Model.MaxLen() != b.Model.MaxLen() || a.Model.VocabSize() != b.Model.VocabSize():
		return fmt.Errorf("its positions or vocabulary differ from %s's", a.Dir)
	}
	return nil
}

// loadWARM averages the members with merge.Run (uniform, float64
// accumulation: the bytes `warm merge` writes) into a temporary directory
// beside the first member's parent, loads the average and removes the
// directory.
func (l *loaded) loadWARM(o *Options) error {
	tmp, err := os.MkdirTemp(o.TempDir, "warm-serve-")
	if err != nil {
		return fmt.Errorf("averaging the members: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "warm")
	res, err := merge.Run(context.Background(), out, l.dirs, merge.Options{
		IgnoreBaseFingerprint: o.IgnoreBaseFingerprint, NoSync: true, Fingerprint: merge.FingerprintAlways})
	if err != nil {
		return fmt.Errorf("averaging the members: %w", err)
	}
	w, err := scorer.Load(out)
	if err != nil {
		return err
	}
	w.Dir = fmt.Sprintf("WARM(%d)", len(l.dirs))
	l.warm, l.fingerprint = w, res.Fingerprint
	return nil
}

// enc is the scorer that encodes requests (every member encodes alike).
func (l *loaded) enc() *scorer.Scorer { return l.members[0] }

// canUncertain reports whether the server holds members to disagree.
func (l *loaded) canUncertain() bool { return len(l.members) > 1 }

// rewards scores the sequences: the single model, the weight average
// (WARM), or the members' mean (ENS). std, the members' standard
// deviation, is computed for an ensemble always and for WARM only when
// withStd (it costs a pass of every member).
func (l *loaded) rewards(seqs [][]int32, withStd bool) (mean, std []float32, err error) {
	if l.warm != nil {
		r, err := l.warm.Model.Rewards(seqs)
		if err != nil || !withStd {
			return r, nil, err
		}
		_, sd, err := l.ensemble(seqs)
		return r, sd, err
	}
	if len(l.members) == 1 {
		r, err := l.members[0].Model.Rewards(seqs)
		return r, nil, err
	}
	return l.ensemble(seqs)
}

// ensemble is the members' mean and standard deviation.
func (l *loaded) ensemble(seqs [][]int32) (mean, std []float32, err error) {
	all := make([][]float32, len(l.members))
	for k, m := range l.members {
		if all[k], err = m.Model.Rewards(seqs); err != nil {
			return nil, nil, fmt.Errorf("member %s: %w", m.Dir, err)
		}
	}
	mean, std = make([]float32, len(seqs)), make([]float32, len(seqs))
	M := float64(len(all))
	for i := range seqs {
		var s, ss float64
		for k := range all {
			s += float64(all[k][i])
		}
		mu := s / M
		for k := range all {
			d := float64(all[k][i]) - mu
			ss += d * d
		}
		mean[i], std[i] = float32(mu), float32(math.Sqrt(ss/M))
	}
	return mean, std, nil
}

// describe names what is served, for logs.
func (l *loaded) describe() string {
	if len(l.dirs) == 1 {
		return l.dirs[0]
	}
	if l.warm != nil {
		return fmt.Sprintf("WARM(%d) of %s", len(l.dirs), strings.Join(l.dirs, ", "))
	}
	return fmt.Sprintf("ENS(%d) of %s", len(l.dirs), strings.Join(l.dirs, ", "))
}
