package data

import (
	"fmt"
	"io"
	"strings"
)

// ReadText reads plain text, one document per line (the line terminator is
// removed, "\r\n" included). Blank lines are not documents: they are counted
// in LoadStats.Blank and skipped. name is used in errors.
func ReadText(r io.Reader, name string) ([]string, LoadStats, error) {
	var docs []string
	st, err := eachText(r, name, func(doc string) error {
		docs = append(docs, doc)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	return docs, st, nil
}

// eachText streams the documents of r to fn.
func eachText(r io.Reader, name string, fn func(doc string) error) (LoadStats, error) {
	var st LoadStats
	lr := newLineReader(r)
	for {
		line, ln, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("%s:%d: %w", name, ln+1, err)
		}
		if strings.TrimSpace(line) == "" {
			st.Blank++
			continue
		}
		if err := fn(line); err != nil {
			return st, err
		}
		st.Records++
	}
	if st.Records == 0 {
		return st, fmt.Errorf("%s: %w", name, ErrNoRecords)
	}
	return st, nil
}
