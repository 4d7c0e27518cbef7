package policy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// jsonl is an append-only log of JSON records, one a line. A crash can
// leave at most a partial last line, which read drops; a resumed run
// rewrites the log (atomically) to the records it keeps.
type jsonl struct {
	path string
}

// read calls fn on every complete record.
func (l *jsonl) read(fn func([]byte) error) error {
	b, err := os.ReadFile(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		rec := sc.Bytes()
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		if err := fn(rec); err != nil {
			// A partial last line (no newline after it) is a record
			// interrupted by a crash: drop it.
			if line == bytes.Count(b, []byte("\n"))+1 && !bytes.HasSuffix(b, []byte("\n")) {
				return nil
			}
			return fmt.Errorf("%s:%d: %w", l.path, line, err)
		}
	}
	return sc.Err()
}

// append adds one record.
func (l *jsonl) append(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return f.Close()
}

// rewrite replaces the log by records, atomically.
func (l *jsonl) rewrite(recs []any) error {
	var buf bytes.Buffer
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	if err := atomicdir.WriteFile(l.path, buf.Bytes()); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}
