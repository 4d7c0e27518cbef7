package merge

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// tempPrefix is the name prefix of the temporary directory a merge into
// base is written in: hidden, and carrying the writer's process id so that
// a later merge can remove the directory of one that was killed.
func tempPrefix(base string) string {
	return "." + base + ".warm-tmp-" + strconv.Itoa(os.Getpid()) + "-"
}

// cleanStaleTemps removes temporary directories of earlier merges into base
// whose process no longer exists (killed before it could clean up). It only
// touches names made by tempPrefix, and ignores errors: it is housekeeping.
func cleanStaleTemps(parent, base string) {
	prefix := "." + base + ".warm-tmp-"
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(name, prefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(parent, name))
	}
}

// publishFallback moves src to dst where the atomic rename primitives are
// missing. Replacing goes through a short window where dst is absent (the
// old one is then at dst+".old-*" until the caller removes it).
func publishFallback(src, dst string, replace bool) (string, error) {
	if _, err := os.Lstat(dst); err == nil {
		if !replace {
			return "", fmt.Errorf("output %s already exists", dst)
		}
		old := src + ".old"
		if err := os.Rename(dst, old); err != nil {
			return "", fmt.Errorf("moving the previous %s aside: %w", dst, err)
		}
		if err := os.Rename(src, dst); err != nil {
			if rerr := os.Rename(old, dst); rerr != nil {
				return "", errors.Join(fmt.Errorf("publishing %s: %w", dst, err), fmt.Errorf("restoring the previous output from %s: %w", old, rerr))
			}
			return "", fmt.Errorf("publishing %s: %w", dst, err)
		}
		return old, nil
	}
	if err := os.Rename(src, dst); err != nil {
		return "", fmt.Errorf("publishing %s: %w", dst, err)
	}
	return "", nil
}
