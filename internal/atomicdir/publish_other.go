//go:build !linux

package atomicdir

import (
	"errors"
	"os"
	"syscall"
)

// Publish moves src to dst. Without Linux's renameat2, replacing an
// existing output has a short window in which dst is absent.
func Publish(src, dst string, replace bool) (string, error) {
	return publishFallback(src, dst, replace)
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission)
}
