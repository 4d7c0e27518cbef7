package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Watch polls the served checkpoint directories every interval and reloads
// when their files have changed and then stayed the same for one more
// poll (so a checkpoint still being copied in is not loaded half written;
// warm's own writers publish by rename, which settles at once). It returns
// when ctx ends. A failed reload keeps the served model (Reload logs why)
// and is retried only after the files change again.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	dirs := s.cur.Load().dirs
	last := snapshot(dirs)
	pending := ""
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := snapshot(dirs)
		switch {
		case now == last:
			pending = ""
		case now == pending: // changed, then stable for a poll
			s.Reload()
			last, pending = now, ""
		default:
			pending = now
		}
	}
}

// snapshot summarises the names, sizes and modification times of the files
// in dirs.
func snapshot(dirs []string) string {
	var b strings.Builder
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", d, err)
			continue
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			if st, err := os.Stat(filepath.Join(d, n)); err == nil && st.Mode().IsRegular() {
				fmt.Fprintf(&b, "%s/%s %d %d\n", d, n, st.Size(), st.ModTime().UnixNano())
			}
		}
	}
	return b.String()
}
