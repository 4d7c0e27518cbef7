package merge

import (
	"context"
	"errors"
	"github.com/warm-rm/warm/internal/atomicdir"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warm-rm/warm/safetensors"
)

// TestKillChild is the merge process that TestKillNine kills; it does
// nothing unless started by it.
func TestKillChild(t *testing.T) {
	out := os.Getenv("WARM_MERGE_KILL_OUT")
	if out == "" {
		t.Skip("helper process for TestKillNine")
	}
	members := strings.Split(os.Getenv("WARM_MERGE_KILL_MEMBERS"), ",")
	// Slow the merge down (as a slow disk would) so that kills land at
	// every stage of it, not only during process start-up.
	slow := func(done, total int64) { time.Sleep(4 * time.Millisecond) }
	if _, err := Run(context.Background(), out, members, Options{Overwrite: true, Threads: 2, Progress: slow}); err != nil {
		t.Fatal(err)
	}
}

// TestKillNine kills merges with SIGKILL at random moments: the output
// path must hold either nothing, the previous output, or the complete new
// one, and the next merge must clear the killed merges' temporary
// directories.
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	var members []string
	for i := range 4 {
		members = append(members, writeMember(t, dir, string(rune('a'+i)), memberOpts{seed: uint64(40 + i), base: testBase, shards: 2}))
	}
	// The expected new output, and a previous output to be replaced.
	want, err := Run(context.Background(), filepath.Join(dir, "want"), members, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$")
		cmd.Env = append(os.Environ(), "WARM_MERGE_KILL_OUT="+out, "WARM_MERGE_KILL_MEMBERS="+strings.Join(members, ","))
		return cmd
	}
	// Time one undisturbed run, then kill at moments spread over it.
	start := time.Now()
	if b, err := child().CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, b)
	}
	span := time.Since(start)
	rng := rand.New(rand.NewPCG(9, 9))
	outcomes := map[string]int{}
	midMerge, lastPid := 0, 0
	for i := range 16 {
		var prev string
		os.RemoveAll(out)
		if i%2 == 1 {
			r, err := Run(context.Background(), out, members[:2], Options{})
			if err != nil {
				t.Fatal(err)
			}
			prev = r.Fingerprint
		}
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span))))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		finished := err == nil
		s, err := safetensors.OpenSet(out)
		var got string
		switch {
		case errors.Is(err, os.ErrNotExist):
			got = "none"
		case err != nil:
			t.Fatalf("kill %d: output is broken: %v", i, err)
		default:
			fp, err := s.Fingerprint(context.Background(), 2)
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			switch fp {
			case want.Fingerprint:
				got = "new"
			case prev:
				got = "previous"
			default:
				t.Fatalf("kill %d: output holds unexpected content %s", i, fp)
			}
		}
		if got == "none" && prev != "" {
			t.Fatalf("kill %d: the previous output disappeared", i)
		}
		if finished && got != "new" {
			t.Fatalf("kill %d: merge finished but output is %s", i, got)
		}
		outcomes[got]++
		for _, n := range listDir(t, dir) {
			if strings.Contains(n, ".warm-tmp-") {
				midMerge++
				os.RemoveAll(filepath.Join(dir, n))
			}
		}
		lastPid = cmd.Process.Pid
	}
	t.Logf("outcomes over 16 kills spread over a %v run: %v", span.Round(time.Millisecond), outcomes)
	// Killed merges leave hidden temporary directories; the next merge
	// into the same path removes those of dead processes.
	t.Logf("%d kills landed mid-merge (left a temporary directory)", midMerge)
	// A killed merge leaves a hidden temporary directory; the next merge
	// into the same path removes those of dead processes only.
	dead := filepath.Join(dir, atomicdir.TempPrefix("out")[:len(".out.warm-tmp-")]+strconv.Itoa(lastPid)+"-1")
	alive := filepath.Join(dir, ".out.warm-tmp-1-1") // pid 1 is always alive
	os.Mkdir(dead, 0o755)
	os.Mkdir(alive, 0o755)
	os.RemoveAll(out)
	if _, err := Run(context.Background(), out, members, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); err == nil {
		t.Error("temporary directory of a dead merge not removed")
	}
	if _, err := os.Stat(alive); err != nil {
		t.Error("temporary directory of a live process removed")
	}
}
