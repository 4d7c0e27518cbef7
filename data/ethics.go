package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadETHICS reads the ETHICS utilitarianism CSV: no header, two columns per
// row, the FIRST scenario is the preferred one. Each row becomes a Pair with
// an empty Prompt, Chosen = first column and Rejected = second. The two texts
// are kept apart and scored separately by every consumer, so the column order
// never reaches a model. Quoting follows RFC 4180 (encoding/csv). A row with
// a number of columns other than two, or an empty text, is an error naming
// file:line. name is used in errors and in Pair.Source.
func ReadETHICS(r io.Reader, name string, opt LoadOptions) ([]Pair, LoadStats, error) {
	var (
		pairs []Pair
		st    LoadStats
	)
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // we check the column count ourselves for a clearer error
	cr.ReuseRecord = true
	rec := 0
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				err = fmt.Errorf("%s:%d: invalid CSV: %w", name, pe.StartLine, pe.Err)
				if err := st.skip(opt, err); err != nil {
					return nil, st, err
				}
				rec++
				continue
			}
			return nil, st, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		src := fmt.Sprintf("%s:%d", name, line)
		var bad error
		switch {
		case len(row) != 2:
			bad = fmt.Errorf("%s: expected 2 columns (preferred, other), got %d", src, len(row))
		case strings.TrimSpace(row[0]) == "":
			bad = fmt.Errorf("%s: column 1 (preferred text) is empty", src)
		case strings.TrimSpace(row[1]) == "":
			bad = fmt.Errorf("%s: column 2 (other text) is empty", src)
		}
		if bad != nil {
			if err := st.skip(opt, bad); err != nil {
				return nil, st, err
			}
			rec++
			continue
		}
		pairs = append(pairs, Pair{ID: rec, Chosen: row[0], Rejected: row[1], Source: src})
		rec++
	}
	st.Records = len(pairs)
	if len(pairs) == 0 {
		return nil, st, fmt.Errorf("%s: %w", name, ErrNoRecords)
	}
	return pairs, st, nil
}
