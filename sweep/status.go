package sweep

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/safetensors"
)

// State is where a member's training stands, read from the files a member
// run writes, so it is the same whichever scheduler ran it.
type State string

// The states.
const (
	// StateDone: the member's checkpoint exists, trained with the
	// manifest's configuration.
	StateDone State = "done"
	// StatePartial: training state exists but no checkpoint yet (running,
	// or interrupted and resumable).
	StatePartial State = "partial"
	// StateFailed: the last run of the member failed (its .failed file
	// says why) and no checkpoint exists.
	StateFailed State = "failed"
	// StateStale: a checkpoint exists but was trained with another
	// configuration than the manifest's.
	StateStale State = "stale"
	// StateMissing: nothing has run.
	StateMissing State = "missing"
)

// MemberState is one member's state.
type MemberState struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	State State  `json:"state"`
	// Step is the last checkpointed training step of a partial member.
	Step int `json:"step,omitempty"`
	// Detail is the failure message of a failed member, or why a checkpoint
	// is stale.
	Detail string `json:"detail,omitempty"`
}

// failedFile is where a failed member run leaves its error.
func (m *Manifest) failedFile(i int) string { return m.MemberDir(i) + ".failed" }

// Status reads every member's state.
func (m *Manifest) Status() []MemberState {
	out := make([]MemberState, len(m.Members))
	for i, mb := range m.Members {
		st := MemberState{Index: i, Name: mb.Name, State: StateMissing}
		dir := m.MemberDir(i)
		var done bool
		var err error
		if m.Command != "" {
			done, err = m.externalDone(i)
		} else {
			done, err = trainedWith(dir, m.MemberConfig(i))
		}
		switch {
		case done:
			st.State = StateDone
		case err != nil:
			st.State, st.Detail = StateStale, err.Error()
		default:
			if b, err := os.ReadFile(m.failedFile(i)); err == nil {
				st.State, st.Detail = StateFailed, strings.TrimSpace(string(b))
			} else if step, ok := stateStep(filepath.Clean(dir) + ".state"); ok {
				st.State, st.Step = StatePartial, step
			} else if _, err := os.Stat(m.partialDir(i)); err == nil {
				st.State = StatePartial // an external trainer's output, not checked yet
			}
		}
		out[i] = st
	}
	return out
}

// stateStep reads the step of a training-state checkpoint.
func stateStep(dir string) (int, bool) {
	if _, err := os.Stat(dir); err != nil {
		return 0, false
	}
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return 0, true // state being written: partial all the same
	}
	defer set.Close()
	n, _ := strconv.Atoi(set.Metadata[safetensors.MetaStep])
	return n, true
}

// recordFailure writes (or, on success, removes) member i's .failed file.
func (m *Manifest) recordFailure(i int, err error) {
	p := m.failedFile(i)
	if err == nil || errors.Is(err, errCanceled) {
		os.Remove(p)
		return
	}
	os.WriteFile(p, []byte(fmt.Sprintln(err)), 0o644)
}
