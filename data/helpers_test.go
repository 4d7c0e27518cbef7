package data

import (
	"os"
	"path/filepath"
	"testing"
)

// byteEncoder is a byte-level test tokenizer: byte b is token b+2, EOS is 1
// and Pad is 0.
type byteEncoder struct{}

func (byteEncoder) Encode(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i]) + 2
	}
	return out
}
func (byteEncoder) EOS() int { return 1 }
func (byteEncoder) Pad() int { return 0 }

// decode inverts byteEncoder on a token slice (EOS -> '$', pad -> '_').
func decode(toks []int32) string {
	b := make([]byte, len(toks))
	for i, t := range toks {
		switch t {
		case 0:
			b[i] = '_'
		case 1:
			b[i] = '$'
		default:
			b[i] = byte(t - 2)
		}
	}
	return string(b)
}

// writeFile writes content to a file in a test temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedData finds the repository's real data folder: $WARM_SHARED_DATA if
// set, else the first ancestor of the module root holding shared/data (the
// repository refers to it as ../shared/data from its root). It skips the test
// when the folder is absent.
func sharedData(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("WARM_SHARED_DATA"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for { // find the module root
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("real data: module root not found")
		}
		dir = parent
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "data")
		if _, err := os.Stat(filepath.Join(cand, "README.md")); err == nil {
			return cand
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	t.Skip("real data not found: expected ../shared/data next to the repository (or set WARM_SHARED_DATA); skipping")
	return ""
}
