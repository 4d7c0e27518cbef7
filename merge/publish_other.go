//go:build !linux

package merge

import (
	"errors"
	"os"
	"runtime"
	"syscall"
)

// publish moves src to dst. Without Linux's renameat2, replacing an
// existing output has a short window in which dst is absent.
func publish(src, dst string, replace bool) (string, error) {
	return publishFallback(src, dst, replace)
}

func processAlive(pid int) bool {
	if runtime.GOOS == "windows" {
		return true // no cheap liveness probe: never remove another merge's directory
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, os.ErrPermission)
}
