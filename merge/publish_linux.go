package merge

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// publish moves the finished output src (a file or directory) to dst in one
// atomic step. If dst does not exist it is created by renameat2 with
// RENAME_NOREPLACE, so a concurrent writer of dst is never clobbered. If it
// exists and replace is set, src and dst are swapped with RENAME_EXCHANGE:
// readers see the old output or the new one, never neither. The old output
// is then at the returned path (src) for the caller to remove.
func publish(src, dst string, replace bool) (old string, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, unix.EEXIST):
		if !replace {
			return "", fmt.Errorf("output %s already exists (it appeared during the merge)", dst)
		}
		if err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE); err != nil {
			if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
				return publishFallback(src, dst, replace)
			}
			return "", fmt.Errorf("replacing %s: %w", dst, err)
		}
		return src, nil
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS):
		return publishFallback(src, dst, replace) // file system without renameat2 flags
	default:
		return "", fmt.Errorf("publishing %s: %w", dst, err)
	}
}

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
