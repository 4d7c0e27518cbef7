package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sync"

	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/train"
)

// RunOptions selects and schedules the members to train.
type RunOptions struct {
	// Members lists member indices to train (nil: all).
	Members []int
	// Workers trains that many members at once (default 1). Each uses the
	// kernels' thread count, which Run leaves as the program set it: Go
	// schedules the workers' goroutines on GOMAXPROCS threads, members come
	// out bit-identical whatever the count, and on 2 cores two workers ran
	// a 3-member sweep in 8.2 s against 11.0 s when each had half the
	// threads (one worker finishing first left the other on one thread).
	Workers int
	// Resume continues members interrupted mid-training from their state.
	Resume bool
	// StateEvery is the number of steps between training-state checkpoints.
	StateEvery int
	Progress   pipeline.Progress
	Log        *slog.Logger
	// CommandOutput receives an external trainer's output (manifests with a
	// Command; default os.Stderr).
	CommandOutput io.Writer
}

// errCanceled marks a member run stopped by its context (a preempted or
// cancelled job): its state stays resumable and it is not recorded as
// failed.
var errCanceled = errors.New("canceled")

// MemberStatus is what happened to one member.
type MemberStatus struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	Skipped bool   `json:"skipped"` // it was already trained
	Wall    string `json:"wall,omitempty"`
}

// EnsureHead fits the shared head (a linear probe of HeadInit on the
// training pairs) unless the manifest's Head already exists.
func EnsureHead(ctx context.Context, m *Manifest, o RunOptions) error {
	if m.Head == "" { // an external trainer brings its own head
		return nil
	}
	head := m.Path(m.Head)
	if _, err := os.Stat(head); err == nil {
		return nil
	}
	init := m.HeadInit
	if init == "" {
		init = m.Base
	}
	probe := m.Probe
	if probe.Steps <= 0 {
		probe = train.DefaultProbe()
	}
	pipeline.Logger(o.Log).Info("sweep: fitting the shared head", "init", m.Path(init), "head", head)
	_, err := pipeline.TrainRM(ctx, pipeline.RMOptions{
		Out: head, Init: m.Path(init), Data: m.Path(m.Train), CorruptRate: m.CorruptRate, CorruptSeed: m.CorruptSeed,
		MaxLen: m.MaxLen, Probe: probe, ProbeOnly: true, Train: m.Config, Log: o.Log,
	})
	if err != nil {
		return fmt.Errorf("sweep: fitting the shared head: %w", err)
	}
	return nil
}

// Run trains the selected members that are not trained yet (after
// EnsureHead). A member whose checkpoint exists is skipped if it was
// trained with the member's current configuration, and is an error
// otherwise (the manifest changed under it).
func Run(ctx context.Context, m *Manifest, o RunOptions) ([]MemberStatus, error) {
	idx := o.Members
	if idx == nil {
		for i := range m.Members {
			idx = append(idx, i)
		}
	}
	for _, i := range idx {
		if i < 0 || i >= len(m.Members) {
			return nil, fmt.Errorf("sweep: member %d out of range 0..%d", i, len(m.Members)-1)
		}
	}
	if err := EnsureHead(ctx, m, o); err != nil {
		return nil, err
	}
	workers := max(o.Workers, 1)
	status := make([]MemberStatus, len(idx))
	errs := make([]error, len(idx))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				status[k], errs[k] = runMember(ctx, m, idx[k], o)
				if errs[k] != nil && ctx.Err() != nil {
					m.recordFailure(idx[k], errCanceled) // interrupted, not failed: resumable
				} else {
					m.recordFailure(idx[k], errs[k])
				}
			}
		}()
	}
	for k := range idx {
		if ctx.Err() != nil {
			break
		}
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return status, err
	}
	return status, errors.Join(errs...)
}

func runMember(ctx context.Context, m *Manifest, i int, o RunOptions) (MemberStatus, error) {
	if m.Command != "" {
		return runExternal(ctx, m, i, o)
	}
	mb := m.Members[i]
	dir := m.MemberDir(i)
	st := MemberStatus{Index: i, Name: mb.Name, Dir: dir}
	cfg := m.MemberConfig(i)
	if done, err := trainedWith(dir, cfg); err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	} else if done {
		st.Skipped = true
		pipeline.Logger(o.Log).Info("sweep: already trained, skipped", "member", mb.Name)
		return st, nil
	}
	drop := mb.Dropout
	var progress pipeline.Progress
	if o.Progress != nil {
		progress = func(_ string, s train.Stats, total int) { o.Progress(mb.Name, s, total) }
	}
	res, err := pipeline.TrainRM(ctx, pipeline.RMOptions{
		Out: dir, Init: m.Path(mb.Init), Head: m.Path(m.Head), Data: m.TrainFile(i),
		CorruptRate: m.CorruptRate, CorruptSeed: m.CorruptSeed, MaxLen: m.MaxLen, Dropout: &drop,
		Train: cfg, SaveAt: mb.SaveAt, Resume: pipeline.Resume{Resume: o.Resume, Every: o.StateEvery},
		Progress: progress, Log: o.Log,
	})
	if err != nil {
		return st, fmt.Errorf("sweep: member %s: %w", mb.Name, err)
	}
	st.Wall = res.Wall.Round(1e8).String()
	pipeline.Logger(o.Log).Info("sweep: trained", "member", mb.Name, "wall", st.Wall)
	return st, nil
}

// trainedWith reports whether dir holds a reward model trained with cfg.
func trainedWith(dir string, cfg train.Config) (bool, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return false, err
	}
	defer set.Close()
	var hp struct {
		Train train.Config `json:"train"`
	}
	if err := json.Unmarshal([]byte(set.Metadata[safetensors.MetaHParams]), &hp); err != nil {
		return false, fmt.Errorf("%s exists but has no readable training hyper-parameters: %w", dir, err)
	}
	if !reflect.DeepEqual(hp.Train, cfg) {
		return false, fmt.Errorf("%s exists but was trained with %+v, the manifest now says %+v (remove it to retrain)", dir, hp.Train, cfg)
	}
	return true, nil
}
