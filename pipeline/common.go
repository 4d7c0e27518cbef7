package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/train"
)

// Progress receives the statistics of each training step of a job.
// stage names the job ("pretrain", "sft", "rm", "probe"); total is the
// number of steps the stage will run.
type Progress func(stage string, st train.Stats, total int)

// Logf receives human-readable notes about a job (data sizes, truncation,
// where files went).
type Logf func(format string, args ...any)

func (l Logf) printf(format string, args ...any) {
	if l != nil {
		l(format, args...)
	}
}

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
