// Package sweep runs WARM's reward-model sweeps: M members fine-tuned from
// one shared pre-trained base with diverse hyper-parameters (learning rate,
// dropout, data order, and "Baklava" initialisation from different SFT
// snapshots), every member starting from the same linear-probed head.
//
// A sweep is a manifest (JSON) of member configurations, so members can be
// trained in separate processes or on separate machines (`warm sweep run
// --member K`) and gathered later, or all locally with a worker limit.
// Finished members are skipped: a sweep is resumable, and a member
// interrupted mid-training resumes from its own training state.
package sweep

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/train"
)

// Version is the manifest format version.
const Version = 1

// Member is one reward model of a sweep.
type Member struct {
	// Name is the member's directory name under the sweep's Out.
	Name string `json:"name"`
	// Init is the checkpoint its trunk starts from (an SFT snapshot or the
	// base): the Baklava initialisation.
	Init     string  `json:"init"`
	LR       float64 `json:"lr"`
	Dropout  float32 `json:"dropout"`
	DataSeed uint64  `json:"data_seed"`
	// Seed keys the member's dropout masks.
	Seed uint64 `json:"seed"`
	// SaveAt lists steps at which snapshots are kept (LMC between two
	// checkpoints of one run).
	SaveAt []int `json:"save_at,omitempty"`
	// Role says why the member is in the sweep: "ref", "order", "lr" or
	// "init" for the members built to measure linear mode connectivity
	// against "ref" along one axis of diversity, "random" otherwise;
	// "shard" for a member of a federated sweep; "baseline" for a model
	// evaluated beside the members but never averaged with them.
	Role string `json:"role"`
	// Train, when set, replaces the manifest's training file for this
	// member (federated shards, members trained on other datasets).
	Train string `json:"train,omitempty"`
}

// RoleBaseline marks a member that is evaluated but not averaged.
const RoleBaseline = "baseline"

// TrainFile returns the training file of member i.
func (m *Manifest) TrainFile(i int) string {
	if t := m.Members[i].Train; t != "" {
		return m.Path(t)
	}
	return m.Path(m.Train)
}

// EvalSet is a named pair file evaluated after the sweep.
type EvalSet struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// Manifest describes a sweep. Relative paths are relative to the manifest
// file's directory.
type Manifest struct {
	Version int `json:"version"`
	// Out is the directory that receives one checkpoint per member.
	Out string `json:"out"`
	// Base is the shared pre-trained base; every Init and the head must
	// derive from it (checked through the base fingerprint).
	Base string `json:"base"`
	// Head is the shared linear-probed head (a reward-model checkpoint).
	// If it does not exist, `sweep run` fits it first by probing HeadInit
	// on the training pairs.
	Head     string `json:"head"`
	HeadInit string `json:"head_init"`
	// Train is the preference file every member trains on.
	Train string `json:"train"`
	// CorruptRate flips that fraction of training labels, the same pairs
	// for every member (CorruptSeed).
	CorruptRate float64 `json:"corrupt_rate"`
	CorruptSeed uint64  `json:"corrupt_seed"`
	// MaxLen bounds sequence lengths (0: the model's context).
	MaxLen int               `json:"max_len"`
	Probe  train.ProbeConfig `json:"probe"`
	// Config holds the optimisation settings shared by members; each
	// member overrides LR, Seed and DataSeed.
	Config  train.Config `json:"config"`
	Members []Member     `json:"members"`
	// Eval lists the pair sets of the evaluation: by convention "test" (in
	// distribution), "ood_dev" (ranks members), "ood_test" and others.
	Eval []EvalSet `json:"eval"`
	// Command, when set, is the template of the external trainer (TRL,
	// OpenRLHF, ...) that trains every member instead of warm (see
	// Placeholders and RenderCommand); Head is then optional.
	Command string `json:"command,omitempty"`
	// BaseHash is the content fingerprint of Base, recorded with Command:
	// foreign checkpoints carry no warm base fingerprint, so members are
	// tied to the base through it.
	BaseHash string `json:"base_hash,omitempty"`

	// dir is the manifest's directory (for relative paths).
	dir string
}

// Path resolves a manifest path against the manifest's directory.
func (m *Manifest) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || m.dir == "" {
		return p
	}
	return filepath.Join(m.dir, p)
}

// MemberDir is where member i's checkpoint goes.
func (m *Manifest) MemberDir(i int) string {
	return filepath.Join(m.Path(m.Out), m.Members[i].Name)
}

// MemberConfig returns the training configuration of member i.
func (m *Manifest) MemberConfig(i int) train.Config {
	c := m.Config
	mb := m.Members[i]
	c.LR, c.Seed, c.DataSeed = mb.LR, mb.Seed, mb.DataSeed
	if c.MinLR > c.LR {
		c.MinLR = c.LR / 10
	}
	return c
}

// Validate reports the first inconsistency.
func (m *Manifest) Validate() error {
	if m.Version != Version {
		return fmt.Errorf("manifest version %d, this warm reads %d", m.Version, Version)
	}
	switch {
	case m.Out == "":
		return errors.New("manifest: out is empty")
	case m.Base == "":
		return errors.New("manifest: base is empty")
	case m.Head == "" && m.Command == "":
		return errors.New("manifest: head is empty")
	case m.Command != "" && m.BaseHash == "":
		return errors.New("manifest: command is set but base_hash is empty (warm sweep submit --command records it)")
	case m.Train == "":
		return errors.New("manifest: train is empty")
	case len(m.Members) == 0:
		return errors.New("manifest: no members")
	case m.CorruptRate < 0 || m.CorruptRate >= 1:
		return fmt.Errorf("manifest: corrupt_rate %g outside [0, 1)", m.CorruptRate)
	}
	if m.Command != "" {
		if err := m.checkTemplate(); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	for i, mb := range m.Members {
		if mb.Name == "" || mb.Name != filepath.Base(mb.Name) || mb.Name == "." || mb.Name == ".." {
			return fmt.Errorf("manifest: member %d: bad name %q", i, mb.Name)
		}
		if names[mb.Name] {
			return fmt.Errorf("manifest: member name %q used twice", mb.Name)
		}
		names[mb.Name] = true
		if mb.Init == "" {
			return fmt.Errorf("manifest: member %s has no init", mb.Name)
		}
		if mb.Dropout < 0 || mb.Dropout >= 1 {
			return fmt.Errorf("manifest: member %s: dropout %g outside [0, 1)", mb.Name, mb.Dropout)
		}
		if err := m.MemberConfig(i).Validate(); err != nil {
			return fmt.Errorf("manifest: member %s: %w", mb.Name, err)
		}
	}
	return nil
}

// Load reads and validates a manifest.
func Load(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.dir = filepath.Dir(path)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, nil
}

// Save writes the manifest atomically. Paths are written as they are.
func (m *Manifest) Save(path string) error {
	if err := m.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicdir.WriteFile(path, append(b, '\n')); err != nil {
		return err
	}
	m.dir = filepath.Dir(path)
	return nil
}
