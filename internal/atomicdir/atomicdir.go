// Package atomicdir publishes directories (checkpoints, merges, reports) in
// one atomic step: the content is written into a hidden temporary directory
// beside the destination, synced, then renamed into place, so a crash or a
// kill -9 at any moment leaves either no output or the previous one.
package atomicdir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Write makes the directory dst by calling fill with a fresh temporary
// directory in dst's parent, then syncing every file in it and publishing
// it as dst. If dst exists, Write fails unless replace is set; with replace
// the old directory is swapped out atomically (Linux) and removed. On any
// error the temporary directory is removed and dst is untouched.
func Write(dst string, replace bool, fill func(tmp string) error) (err error) {
	dst = filepath.Clean(dst)
	parent, base := filepath.Dir(dst), filepath.Base(dst)
	if !replace {
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("output %s already exists", dst)
		}
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", parent, err)
	}
	tmp, err := TempDir(parent, base)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp, err)
	}
	old, err := Publish(tmp, dst, replace)
	if err != nil {
		return err
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return SyncDir(parent)
}

// syncTree fsyncs every regular file and directory under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// TempDir creates the temporary directory in which an output named base
// is built, in parent, after removing those that killed writers left
// behind. Publish moves it (or a file in it) into place.
func TempDir(parent, base string) (string, error) {
	CleanStale(parent, base)
	tmp, err := os.MkdirTemp(parent, TempPrefix(base))
	if err != nil {
		return "", fmt.Errorf("creating a temporary directory for %s: %w", filepath.Join(parent, base), err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

// TempPrefix is the name prefix of the temporary directory for base: hidden,
// and carrying the writer's process id so that a later writer can remove the
// directory of one that was killed.
func TempPrefix(base string) string {
	return "." + base + ".warm-tmp-" + strconv.Itoa(os.Getpid()) + "-"
}

// CleanStale removes temporary directories of earlier writers of base in
// parent whose process no longer exists (killed before they could clean up).
// It only touches names made by this package and ignores errors.
func CleanStale(parent, base string) {
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
// old one is then at src+".old" until the caller removes it).
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

// WriteFile writes b to path through a synced temporary file in the same
// directory and a rename, so path holds either its old content or b.
func WriteFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs a directory, making renames and creations in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
