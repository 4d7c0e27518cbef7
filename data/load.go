package data

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoRecords is returned (wrapped, with the file name) by every loader when
// its input holds no usable record: an empty file is almost always a mistake.
var ErrNoRecords = errors.New("no records")

// maxKeptErrors is how many skip reasons LoadStats keeps.
const maxKeptErrors = 10

// LoadOptions controls how loaders treat malformed records.
type LoadOptions struct {
	// SkipBad skips malformed records instead of failing on the first one.
	// Skipped records are counted in LoadStats.Skipped and the first few
	// reasons are kept in LoadStats.Errors.
	SkipBad bool
}

// LoadStats describes what a loader read.
type LoadStats struct {
	// Records is the number of records returned.
	Records int
	// Skipped is the number of malformed records skipped (only with
	// LoadOptions.SkipBad; otherwise the first one is an error).
	Skipped int
	// Blank is the number of blank lines ignored (JSONL and text files).
	Blank int
	// Errors holds the reasons for the first skipped records, each naming
	// file and line.
	Errors []error
}

// skip records a skipped record, or returns err when skipping is off.
func (s *LoadStats) skip(opt LoadOptions, err error) error {
	if !opt.SkipBad {
		return err
	}
	s.Skipped++
	if len(s.Errors) < maxKeptErrors {
		s.Errors = append(s.Errors, err)
	}
	return nil
}

// Summary returns a one-line human-readable summary of the stats.
func (s LoadStats) Summary() string {
	return fmt.Sprintf("%d records, %d skipped, %d blank lines", s.Records, s.Skipped, s.Blank)
}

// openInput opens path for reading, transparently decompressing gzip input
// (detected from the magic bytes, not the name). The returned closer closes
// everything.
func openInput(path string) (io.Reader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		return zr, func() error {
			zerr := zr.Close()
			ferr := f.Close()
			if zerr != nil {
				return fmt.Errorf("%s: gzip: %w", path, zerr)
			}
			return ferr
		}, nil
	}
	return br, f.Close, nil
}

// withInput opens path and runs fn on its (decompressed) contents, with a
// leading UTF-8 byte-order mark removed.
func withInput(path string, fn func(r io.Reader) error) error {
	r, closeFn, err := openInput(path)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, 1<<16)
	if bom, _ := br.Peek(3); len(bom) == 3 && bom[0] == 0xef && bom[1] == 0xbb && bom[2] == 0xbf {
		br.Discard(3)
	}
	err = fn(br)
	if cerr := closeFn(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// baseExt returns the file's extension without a trailing ".gz", lower case.
func baseExt(path string) string {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(p, ".gz")
	return filepath.Ext(p)
}

// Format is a kind of file the loaders understand.
type Format int

// The file formats.
const (
	// FormatUnknown is a file no loader claims.
	FormatUnknown Format = iota
	// FormatPairsJSONL is TRL-style preference JSONL (HH-RLHF included).
	FormatPairsJSONL
	// FormatETHICS is the ETHICS utilitarianism CSV.
	FormatETHICS
	// FormatExamplesJSONL is prompt/completion JSONL (SFT data, prompt lists).
	FormatExamplesJSONL
	// FormatText is plain text, one document per line.
	FormatText
)

// String returns the format's name.
func (f Format) String() string {
	switch f {
	case FormatPairsJSONL:
		return "preference pairs (JSONL)"
	case FormatETHICS:
		return "preference pairs (ETHICS CSV)"
	case FormatExamplesJSONL:
		return "prompt/completion examples (JSONL)"
	case FormatText:
		return "plain text"
	}
	return "unknown"
}

// DetectFormat guesses a file's format: by extension (".csv" is ETHICS,
// ".txt" is text), and for JSONL (".jsonl", ".json", ".ndjson") by the first
// non-blank record: one with a "chosen" field is a preference file, otherwise
// a prompt/completion file. A trailing ".gz" is ignored.
func DetectFormat(path string) (Format, error) {
	switch baseExt(path) {
	case ".csv":
		return FormatETHICS, nil
	case ".txt", ".text":
		return FormatText, nil
	case ".jsonl", ".json", ".ndjson":
	default:
		return FormatUnknown, fmt.Errorf("%s: unknown file type (want .jsonl, .csv or .txt, optionally .gz)", path)
	}
	format := FormatPairsJSONL
	err := withInput(path, func(r io.Reader) error {
		lr := newLineReader(r)
		for {
			line, _, err := lr.next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if strings.TrimSpace(line) == "" {
				continue
			}
			if !strings.Contains(line, `"chosen"`) {
				format = FormatExamplesJSONL
			}
			return nil
		}
	})
	if err != nil {
		return FormatUnknown, fmt.Errorf("%s: %w", path, err)
	}
	return format, nil
}

// LoadPairs loads preference pairs from a TRL-style JSONL file (HH-RLHF
// included, gzip or not) or an ETHICS CSV file, chosen by extension:
// ".csv" is ETHICS, ".jsonl"/".json"/".ndjson" is TRL, optionally followed by
// ".gz".
func LoadPairs(path string, opt LoadOptions) ([]Pair, LoadStats, error) {
	var (
		pairs []Pair
		st    LoadStats
	)
	var read func(io.Reader, string, LoadOptions) ([]Pair, LoadStats, error)
	switch baseExt(path) {
	case ".csv":
		read = ReadETHICS
	case ".jsonl", ".json", ".ndjson":
		read = ReadTRL
	default:
		return nil, st, fmt.Errorf("%s: unknown preference file type (want .jsonl or .csv, optionally .gz)", path)
	}
	err := withInput(path, func(r io.Reader) error {
		var err error
		pairs, st, err = read(r, path, opt)
		return err
	})
	return pairs, st, err
}

// LoadExamples loads a prompt/completion JSONL file (see [ReadExamples]).
func LoadExamples(path string, opt LoadOptions) ([]Example, LoadStats, error) {
	var (
		ex []Example
		st LoadStats
	)
	err := withInput(path, func(r io.Reader) error {
		var err error
		ex, st, err = ReadExamples(r, path, opt)
		return err
	})
	return ex, st, err
}

// LoadText loads a plain-text file, one document per line (see [ReadText]).
func LoadText(path string) ([]string, LoadStats, error) {
	var (
		docs []string
		st   LoadStats
	)
	err := withInput(path, func(r io.Reader) error {
		var err error
		docs, st, err = ReadText(r, path)
		return err
	})
	return docs, st, err
}

// EachText calls fn for every document (non-blank line) of a plain-text
// file, in order, without holding the file in memory. An error from fn stops
// the scan and is returned.
func EachText(path string, fn func(doc string) error) (LoadStats, error) {
	var st LoadStats
	err := withInput(path, func(r io.Reader) error {
		var err error
		st, err = eachText(r, path, fn)
		return err
	})
	return st, err
}

// lineReader reads lines of any length, counting them and stripping the line
// terminator ("\n" or "\r\n").
type lineReader struct {
	r    *bufio.Reader
	line int
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 1<<16)}
}

// next returns the next line and its 1-based number, or io.EOF.
func (lr *lineReader) next() (string, int, error) {
	s, err := lr.r.ReadString('\n')
	if err == io.EOF {
		if s == "" {
			return "", lr.line, io.EOF
		}
		err = nil
	}
	if err != nil {
		return "", lr.line, err
	}
	lr.line++
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	return s, lr.line, nil
}
