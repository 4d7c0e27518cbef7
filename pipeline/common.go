package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/train"
)

// Progress receives the statistics of each training step of a job.
// stage names the job ("pretrain", "sft", "rm", "probe"); total is the
// number of steps the stage will run.
type Progress func(stage string, st train.Stats, total int)

// Logger returns l, or a logger that discards every record when l is nil,
// so that jobs log their notes (data sizes, truncation, where files went)
// without checking for a logger.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return discard
	}
	return l
}

var discard = slog.New(slog.DiscardHandler)

// Shape is the architecture of a new model.
type Shape struct {
	D       int `json:"d"`
	Layers  int `json:"layers"`
	Heads   int `json:"heads"`
	Context int `json:"context"`
}

// Resume controls the training-state directory of a job.
type Resume struct {
	// StateDir is where training state is checkpointed; "" means
	// Out + ".state".
	StateDir string
	// Every is the number of steps between state checkpoints (0: only on
	// interruption).
	Every int
	// Resume continues from an existing state. Without it, an existing
	// state directory is an error (so a run is never resumed by accident).
	Resume bool
	// Keep leaves the state directory in place after success.
	Keep bool
}

func (r Resume) dir(out string) string {
	if r.StateDir != "" {
		return r.StateDir
	}
	return filepath.Clean(out) + ".state"
}

// check refuses to start a fresh run over an existing state.
func (r Resume) check(out string) error {
	dir := r.dir(out)
	if _, err := os.Stat(dir); err == nil && !r.Resume {
		return fmt.Errorf("training state %s exists from an interrupted run: pass --resume to continue it, or remove it", dir)
	}
	return nil
}

// hashTokens identifies a token stream (for resume checks).
func hashTokens(parts ...[]int32) string {
	h := sha256.New()
	var buf [4]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint32(buf[:], uint32(len(p)))
		h.Write(buf[:])
		for _, t := range p {
			binary.LittleEndian.PutUint32(buf[:], uint32(t))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func hashPairs(tp []data.TokPair) string {
	parts := make([][]int32, 0, 2*len(tp))
	for _, p := range tp {
		parts = append(parts, p.Chosen.Tokens, p.Rejected.Tokens)
	}
	return hashTokens(parts...)
}

func hashSeqs(seqs []data.Seq) string {
	parts := make([][]int32, len(seqs))
	for i, s := range seqs {
		parts[i] = s.Tokens
	}
	return hashTokens(parts...)
}

// hparams renders v as the JSON object stored in a checkpoint's metadata.
func hparams(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// finish publishes the final checkpoint and removes the state directory.
func finish(out string, replace bool, ck *checkpoint.Checkpoint, r Resume) error {
	if err := checkpoint.Save(out, ck, replace); err != nil {
		return err
	}
	if !r.Keep {
		if err := train.RemoveState(r.dir(out)); err != nil {
			return fmt.Errorf("removing training state: %w", err)
		}
	}
	return nil
}

// checkOut refuses an existing output unless replace is set.
func checkOut(out string, replace bool) error {
	if out == "" {
		return errors.New("no output directory given")
	}
	if _, err := os.Stat(out); err == nil && !replace {
		return fmt.Errorf("output %s already exists (use --force to replace it)", out)
	}
	return nil
}

// snapshots saves checkpoints of a running job after chosen steps (SFT's
// Baklava inits; a reward model's intermediate checkpoints for LMC).
type snapshots struct {
	dir   string
	steps map[int]bool
}

func newSnapshots(out, dir string, at []int, total int) (*snapshots, error) {
	if dir == "" {
		dir = filepath.Clean(out) + ".steps"
	}
	s := &snapshots{dir: dir, steps: map[int]bool{}}
	for _, n := range at {
		if n < 1 || n > total {
			return nil, fmt.Errorf("snapshot step %d outside 1..%d", n, total)
		}
		s.steps[n] = true
	}
	return s, nil
}

func (s *snapshots) path(step int) string {
	return filepath.Join(s.dir, fmt.Sprintf("step-%06d", step))
}

// afterStep returns the Runner hook that saves ck after each chosen step.
// A resumed run may find its earlier snapshots already there: they are
// replaced by identical ones.
func (s *snapshots) afterStep(ck func() *checkpoint.Checkpoint, log *slog.Logger) func(int) error {
	return func(done int) error {
		if !s.steps[done] {
			return nil
		}
		c := ck()
		c.Meta.Step = done
		if err := checkpoint.Save(s.path(done), c, true); err != nil {
			return err
		}
		Logger(log).Info("snapshot", "step", done, "dir", s.path(done))
		return nil
	}
}

// paths lists the snapshot directories in step order.
func (s *snapshots) paths() []string {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(s.steps)) {
		out = append(out, s.path(n))
	}
	return out
}
