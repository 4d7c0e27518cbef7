package atomicdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	parent := t.TempDir()
	dst := filepath.Join(parent, "out")
	fill := func(content string) func(string) error {
		return func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "f"), []byte(content), 0o644) }
	}
	if err := Write(dst, false, fill("one")); err != nil {
		t.Fatal(err)
	}
	if err := Write(dst, false, fill("two")); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrite without replace: %v", err)
	}
	if err := Write(dst, true, fill("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "f")); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	// A failing fill leaves the previous output and no temporary directory.
	boom := errors.New("boom")
	if err := Write(dst, true, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "f")); string(b) != "two" {
		t.Fatalf("content after failure %q", b)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestCleanStale(t *testing.T) {
	parent := t.TempDir()
	// A directory of a process that cannot exist (pid far above pid_max)
	// and one of this process.
	dead := filepath.Join(parent, ".out.warm-tmp-2147483600-1")
	mine, err := TempDir(parent, "out")
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(dead, 0o755)
	other := filepath.Join(parent, ".other.warm-tmp-2147483600-1")
	os.Mkdir(other, 0o755)
	CleanStale(parent, "out")
	if _, err := os.Stat(dead); err == nil {
		t.Error("stale directory of a dead process kept")
	}
	if _, err := os.Stat(mine); err != nil {
		t.Error("this process's directory removed")
	}
	if _, err := os.Stat(other); err != nil {
		t.Error("another output's directory removed")
	}
}

func TestWriteFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.json")
	if err := WriteFile(p, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "b" {
		t.Fatalf("%q", b)
	}
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such", "dir"), nil); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}
