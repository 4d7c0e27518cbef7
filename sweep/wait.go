package sweep

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/warm-rm/warm/pipeline"
)

// WaitOptions say what Wait waits for, and for how long.
type WaitOptions struct {
	// Head waits for the shared head; otherwise Wait waits for every
	// member to be done.
	Head bool
	// Timeout bounds the wait (0: no bound).
	Timeout time.Duration
	// Interval is the time between two looks (default 10s).
	Interval time.Duration
	// Since, when set, ignores failures noted before it: those of members
	// resubmitted since, whose old .failed note stays until their new run
	// succeeds. A failure noted at or after Since ends the wait.
	Since time.Time
	Log   *slog.Logger
}

// Wait blocks until the head exists (o.Head) or every member is done, as
// `warm sweep status` reads them. It returns an error on timeout, when a
// member is stale, or when a member failed (a .failed note written at or
// after o.Since): a scheduler without dependencies between jobs (Kubernetes)
// runs it before the jobs that need the head or the members.
func Wait(ctx context.Context, m *Manifest, o WaitOptions) error {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	what := "every member"
	if o.Head {
		what = "the shared head " + m.Path(m.Head)
	}
	log := pipeline.Logger(o.Log)
	start := time.Now()
	last := ""
	for {
		done, progress, err := m.waitCheck(o)
		if err != nil {
			return err
		}
		if done {
			log.Info("sweep: done waiting", "for", what, "after", time.Since(start).Round(time.Second).String())
			return nil
		}
		if progress != last {
			log.Info("sweep: waiting", "for", what, "state", progress)
			last = progress
		}
		sleep := o.Interval
		if o.Timeout > 0 {
			left := o.Timeout - time.Since(start)
			if left <= 0 {
				return fmt.Errorf("sweep: waited %s for %s: %s", o.Timeout, what, progress)
			}
			sleep = min(sleep, left)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sweep: waiting for %s: %w", what, ctx.Err())
		case <-time.After(sleep):
		}
	}
}

// waitCheck looks once: whether the wait is over, what is still missing,
// and the error that ends it early.
func (m *Manifest) waitCheck(o WaitOptions) (bool, string, error) {
	if o.Head {
		if _, err := os.Stat(m.Path(m.Head)); err == nil {
			return true, "", nil
		}
		return false, "no head yet", nil
	}
	var pending []string
	st := m.Status()
	for _, s := range st {
		switch s.State {
		case StateDone:
			continue
		case StateStale:
			return false, "", fmt.Errorf("sweep: member %s is stale: %s", s.Name, s.Detail)
		case StateFailed:
			if fi, err := os.Stat(m.failedFile(s.Index)); err == nil && !fi.ModTime().Before(o.Since) {
				return false, "", fmt.Errorf("sweep: member %s failed: %s (see warm sweep status)", s.Name, s.Detail)
			}
		}
		pending = append(pending, s.Name+" "+string(s.State))
	}
	if len(pending) == 0 {
		return true, "", nil
	}
	return false, fmt.Sprintf("%d of %d members done, not %s", len(st)-len(pending), len(st), strings.Join(pending, ", ")), nil
}
