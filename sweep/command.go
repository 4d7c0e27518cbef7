package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/safetensors"
)

// A sweep whose manifest has a Command trains each member with another tool
// (TRL's RewardTrainer, OpenRLHF, a site's own script) instead of warm's
// training loop: `warm sweep run --member K` renders the template with the
// member's hyper-parameters, runs it with bash, checks what it wrote against
// the manifest's base, and records how the member was made beside its
// weights. Foreign checkpoints carry no warm fingerprints, so the base is
// identified by its content fingerprint (Manifest.BaseHash), checked before
// every member runs and recorded in every member.

// RecordFile is the file, inside an externally trained member's directory,
// that records how it was made.
const RecordFile = "warm-member.json"

// placeholderRE matches a template placeholder: {name}, not ${name} (a shell
// parameter expansion, left alone).
var placeholderRE = regexp.MustCompile(`(^|[^$]){([a-z_]+)}`)

// Placeholders lists the names a command template may use, with what each
// is replaced by.
var Placeholders = map[string]string{
	"name":         "the member's name (member-03)",
	"index":        "the member's index in the manifest (3)",
	"init":         "the checkpoint the member starts from (paths are absolute)",
	"head":         "the shared head checkpoint, when the manifest has one",
	"base":         "the shared pre-trained base",
	"train":        "the member's training file",
	"out":          "the directory the trainer must write the checkpoint into",
	"lr":           "peak learning rate",
	"min_lr":       "final learning rate",
	"dropout":      "dropout probability",
	"seed":         "the member's seed",
	"data_seed":    "the member's data-order seed",
	"steps":        "optimiser steps",
	"batch_size":   "pairs per step",
	"warmup":       "warm-up steps",
	"decay":        "schedule after warm-up (cosine, linear, constant)",
	"clip_norm":    "gradient-norm clipping (0: off)",
	"corrupt_rate": "fraction of training labels to flip (the manifest's)",
	"corrupt_seed": "seed of the flipped labels",
	"weight_decay": "AdamW weight decay",
	"max_len":      "maximum tokens per sequence (0: the model's context)",
}

// checkTemplate reports an unknown placeholder, or {head} without a head.
func (m *Manifest) checkTemplate() error {
	for _, g := range placeholderRE.FindAllStringSubmatch(m.Command, -1) {
		name := g[2]
		if _, ok := Placeholders[name]; !ok {
			known := make([]string, 0, len(Placeholders))
			for k := range Placeholders {
				known = append(known, "{"+k+"}")
			}
			sort.Strings(known)
			return fmt.Errorf("manifest: command: unknown placeholder {%s} (known: %s; write ${%s} for a shell variable)", name, strings.Join(known, " "), name)
		}
		if name == "head" && m.Head == "" {
			return errors.New("manifest: command uses {head} but the manifest has no head")
		}
	}
	return nil
}

// abs makes a path written in the manifest (relative to its directory)
// absolute: trainers run in the manifest's directory, but their own scripts
// may change directory. Paths already resolved against the manifest
// (MemberDir, TrainFile) take absPath instead.
func (m *Manifest) abs(p string) string {
	if p == "" {
		return ""
	}
	return absPath(m.Path(p))
}

// partialDir is where an external trainer writes member i: renamed to the
// member's directory once checked.
func (m *Manifest) partialDir(i int) string { return m.MemberDir(i) + ".partial" }

// CommandValues returns the placeholder values of member i (out excluded:
// see RenderCommand).
func (m *Manifest) CommandValues(i int) map[string]string {
	mb := m.Members[i]
	c := m.MemberConfig(i)
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return map[string]string{
		"name": mb.Name, "index": strconv.Itoa(i),
		"init": m.abs(mb.Init), "head": m.abs(m.Head), "base": m.abs(m.Base), "train": absPath(m.TrainFile(i)),
		"lr": f(c.LR), "min_lr": f(c.MinLR), "dropout": f(float64(mb.Dropout)),
		"seed": strconv.FormatUint(c.Seed, 10), "data_seed": strconv.FormatUint(c.DataSeed, 10),
		"steps": strconv.Itoa(c.Steps), "batch_size": strconv.Itoa(c.BatchSize), "warmup": strconv.Itoa(c.Warmup),
		"weight_decay": f(float64(c.WeightDecay)), "max_len": strconv.Itoa(m.MaxLen),
		"decay": string(c.Decay), "clip_norm": f(float64(c.ClipNorm)),
		"corrupt_rate": f(m.CorruptRate), "corrupt_seed": strconv.FormatUint(m.CorruptSeed, 10),
	}
}

// RenderCommand returns member i's command line: the template with every
// placeholder replaced by its shell-quoted value.
func (m *Manifest) RenderCommand(i int) string {
	vals := m.CommandValues(i)
	vals["out"] = absPath(m.partialDir(i))
	return placeholderRE.ReplaceAllStringFunc(m.Command, func(s string) string {
		g := placeholderRE.FindStringSubmatch(s)
		return g[1] + shellQuote(vals[g[2]])
	})
}

// MemberRecord records how an externally trained member was made.
type MemberRecord struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	// Template and Command are the manifest's template and the command line
	// it became for this member.
	Template string `json:"template"`
	Command  string `json:"command"`
	// Values are the placeholder values (out excluded).
	Values map[string]string `json:"values"`
	// Base and BaseHash identify the base the member was trained from: its
	// path and content fingerprint when the member ran.
	Base     string `json:"base"`
	BaseHash string `json:"base_hash"`
	// Fingerprint is the content fingerprint of the member's weights.
	Fingerprint string `json:"fingerprint"`
	Wall        string `json:"wall"`
}

// readRecord reads an external member's record; ok is false when dir does
// not exist.
func readRecord(dir string) (rec MemberRecord, ok bool, err error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return rec, false, nil
	}
	p := filepath.Join(dir, RecordFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return rec, true, fmt.Errorf("%s exists but has no %s (it was not written by warm sweep run): %w", dir, RecordFile, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, true, fmt.Errorf("%s: %w", p, err)
	}
	return rec, true, nil
}

// externalDone reports whether member i was trained by the manifest's
// command with its current hyper-parameters from the manifest's base.
func (m *Manifest) externalDone(i int) (bool, error) {
	dir := m.MemberDir(i)
	rec, ok, err := readRecord(dir)
	if !ok || err != nil {
		return false, err
	}
	if rec.BaseHash != m.BaseHash {
		return false, fmt.Errorf("%s was trained from base %s (%s), the manifest's base is %s: remove it to retrain", dir, rec.Base, rec.BaseHash, m.BaseHash)
	}
	if want := m.CommandValues(i); !reflect.DeepEqual(rec.Values, want) || rec.Template != m.Command {
		return false, fmt.Errorf("%s was trained with %q %v, the manifest now says %q %v (remove it to retrain)", dir, rec.Template, rec.Values, m.Command, want)
	}
	return true, nil
}

// HashBase returns the content fingerprint of the manifest's base.
func (m *Manifest) HashBase(ctx context.Context) (string, error) {
	set, err := safetensors.OpenSet(m.Path(m.Base))
	if err != nil {
		return "", fmt.Errorf("sweep: the base: %w", err)
	}
	defer set.Close()
	fp, err := set.Fingerprint(ctx, 0)
	if err != nil {
		return "", fmt.Errorf("sweep: hashing the base %s: %w", m.Path(m.Base), err)
	}
	return fp, nil
}

// SetCommand makes the members be trained by the command template: it
// checks the template and records the base's content fingerprint. Members
// already trained by warm are then stale (the manifest no longer describes
// them).
func (m *Manifest) SetCommand(ctx context.Context, template string) error {
	m.Command = template
	if err := m.checkTemplate(); err != nil {
		return err
	}
	h, err := m.HashBase(ctx)
	if err != nil {
		return err
	}
	m.BaseHash = h
	return nil
}

// SetCommandAt is SetCommand for a manifest about to be saved at path (not
// loaded from it), whose relative paths are relative to path's directory.
func (m *Manifest) SetCommandAt(ctx context.Context, path, template string) error {
	m.dir = filepath.Dir(path)
	return m.SetCommand(ctx, template)
}

// PlaceholderHelp lists the placeholders, one a line, for help texts.
func PlaceholderHelp() string {
	names := make([]string, 0, len(Placeholders))
	for k := range Placeholders {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "  %-14s %s\n", "{"+k+"}", Placeholders[k])
	}
	return b.String()
}

// runExternal trains member i with the manifest's command.
func runExternal(ctx context.Context, m *Manifest, i int, o RunOptions) (MemberStatus, error) {
	mb := m.Members[i]
	dir := m.MemberDir(i)
	st := MemberStatus{Index: i, Name: mb.Name, Dir: dir}
	if done, err := m.externalDone(i); err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	} else if done {
		st.Skipped = true
		pipeline.Logger(o.Log).Info("sweep: already trained, skipped", "member", mb.Name)
		return st, nil
	}
	h, err := m.HashBase(ctx)
	if err != nil {
		return st, err
	}
	if h != m.BaseHash {
		return st, fmt.Errorf("sweep: member %s: the base %s has changed since the manifest recorded it (%s, now %s): members trained from it would not share a base; restore it or record it again (warm sweep submit --command)", mb.Name, m.Path(m.Base), m.BaseHash, h)
	}
	partial := m.partialDir(i)
	if !o.Resume {
		if err := os.RemoveAll(partial); err != nil {
			return st, err
		}
	}
	if err := os.MkdirAll(partial, 0o755); err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	}
	line := m.RenderCommand(i)
	log := pipeline.Logger(o.Log)
	log.Info("sweep: running the member's trainer", "member", mb.Name, "command", line)
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = m.abs(".")
	cmd.Env = append(os.Environ(), "WARM_MEMBER_NAME="+mb.Name, "WARM_MEMBER_INDEX="+strconv.Itoa(i), "WARM_MEMBER_OUT="+absPath(partial))
	cmd.Stdout, cmd.Stderr = orStderr(o.CommandOutput), orStderr(o.CommandOutput)
	// The trainer and its children form a process group that a cancelled
	// run (a preempted job) stops with SIGTERM, then SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		return st, fmt.Errorf("sweep: member %s: the trainer failed (%w): %s", mb.Name, err, line)
	}
	fp, err := checkDerived(ctx, m.Path(m.Base), partial)
	if err != nil {
		return st, fmt.Errorf("sweep: member %s: the trainer's output %s: %w", mb.Name, partial, err)
	}
	st.Wall = time.Since(t0).Round(1e8).String()
	rec := MemberRecord{
		Version: 1, Name: mb.Name, Template: m.Command, Command: line, Values: m.CommandValues(i),
		Base: m.abs(m.Base), BaseHash: h, Fingerprint: fp, Wall: st.Wall,
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return st, err
	}
	if err := atomicdir.WriteFile(filepath.Join(partial, RecordFile), append(b, '\n')); err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	}
	if err := os.Rename(partial, dir); err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	}
	log.Info("sweep: trained", "member", mb.Name, "wall", st.Wall, "fingerprint", fp)
	return st, nil
}

func orStderr(w io.Writer) io.Writer {
	if w == nil {
		return os.Stderr
	}
	return w
}

// checkDerived checks that the checkpoint in dir can be a fine-tune of the
// base: weights that open, a config.json, and every tensor it shares with the
// base of the base's shape. A foreign trainer usually replaces the language
// head by a reward head (score.weight [num_labels, hidden]), so tensors
// absent from the base are allowed when they are such a head (at most 16
// rows) or hold at most 1% of the parameters; a checkpoint that shares no
// tensor with the base is refused. It returns the checkpoint's
// content fingerprint.
func checkDerived(ctx context.Context, base, dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return "", fmt.Errorf("no config.json: %w", err)
	}
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return "", err
	}
	defer set.Close()
	bs, err := safetensors.OpenSet(base)
	if err != nil {
		return "", fmt.Errorf("the base: %w", err)
	}
	defer bs.Close()
	var shared, total, extra int64
	var extras []string
	for _, t := range set.Tensors() {
		n := t.NumElements()
		total += n
		bt, ok := bs.Lookup(t.Name)
		if !ok {
			if len(t.Shape) >= 1 && len(t.Shape) <= 2 && t.Shape[0] <= 16 {
				continue // a classification head (num_labels ≤ 16) or its bias
			}
			extra += n
			extras = append(extras, t.Name)
			continue
		}
		if !reflect.DeepEqual(bt.Shape, t.Shape) {
			return "", fmt.Errorf("tensor %s has shape %v, the base's has %v: not a fine-tune of %s", t.Name, t.Shape, bt.Shape, base)
		}
		shared += n
	}
	if shared == 0 {
		return "", fmt.Errorf("it shares no tensor with the base %s", base)
	}
	if extra*100 > total {
		return "", fmt.Errorf("%d of its %d parameters are in tensors the base %s lacks (%s): not a fine-tune of it", extra, total, base, strings.Join(extras, ", "))
	}
	return set.Fingerprint(ctx, 0)
}

// ForeignMembers reports whether the sweep's first member carries no warm
// base fingerprint (a checkpoint made by another tool), so that merging the
// members must skip that check: a --command manifest ties its members to
// the base by the base's content hash (BaseHash) instead.
func (m *Manifest) ForeignMembers() (bool, error) {
	set, err := safetensors.OpenSet(m.MemberDir(0))
	if err != nil {
		return false, err
	}
	defer set.Close()
	return set.Metadata[safetensors.MetaBaseFingerprint] == "", nil
}
