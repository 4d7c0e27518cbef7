package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTRLExplicit(t *testing.T) {
	in := `{"prompt":"Q: 2+2?","chosen":" 4","rejected":" 5","gold_chosen":1.5}

{"id":7,"prompt":"Q","chosen":" a","rejected":" b","flipped":true}
`
	pairs, st, err := ReadTRL(strings.NewReader(in), "f.jsonl", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2 || st.Blank != 1 || st.Skipped != 0 {
		t.Fatalf("stats %+v", st)
	}
	want0 := Pair{ID: 0, Prompt: "Q: 2+2?", Chosen: " 4", Rejected: " 5", Source: "f.jsonl:1"}
	if pairs[0] != want0 {
		t.Errorf("pair 0 = %+v, want %+v", pairs[0], want0)
	}
	want1 := Pair{ID: 7, Prompt: "Q", Chosen: " a", Rejected: " b", Flipped: true, Source: "f.jsonl:3"}
	if pairs[1] != want1 {
		t.Errorf("pair 1 = %+v, want %+v", pairs[1], want1)
	}
	if c, r := pairs[1].Original(); c != " b" || r != " a" {
		t.Errorf("Original of flipped pair = %q, %q", c, r)
	}
}

func TestReadTRLImplicitHH(t *testing.T) {
	c := "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: I am fine."
	r := "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant: I am not telling."
	in := `{"chosen":` + jsonQuote(c) + `,"rejected":` + jsonQuote(r) + "}\n"
	pairs, _, err := ReadTRL(strings.NewReader(in), "hh.jsonl", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := pairs[0]
	if p.Prompt != "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how are you?\n\nAssistant:" {
		t.Errorf("prompt = %q", p.Prompt)
	}
	if p.Chosen != " I am fine." || p.Rejected != " I am not telling." {
		t.Errorf("responses = %q / %q", p.Chosen, p.Rejected)
	}
}

func jsonQuote(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestSplitImplicitPrompt(t *testing.T) {
	cases := []struct {
		c, r, p, cr, rr string
	}{
		{"The cat sat on the mat", "The cat sat on the mouse", "The cat sat on the", " mat", " mouse"},
		// One text is a prefix of the other: both responses stay non-empty.
		{"a b c", "a b c d", "a b", " c", " c d"},
		{"abc", "xyz", "", "abc", "xyz"},
		{"x\n\nAssistant: same start A", "x\n\nAssistant: same start B", "x\n\nAssistant:", " same start A", " same start B"},
		// HH record whose chosen reply is empty (present in the real data).
		{"\n\nHuman: q\n\nAssistant: ", "\n\nHuman: q\n\nAssistant: Ok", "\n\nHuman: q\n\nAssistant:", " ", " Ok"},
	}
	for _, tc := range cases {
		p, cr, rr, err := SplitImplicitPrompt(tc.c, tc.r)
		if err != nil {
			t.Fatal(err)
		}
		if p != tc.p || cr != tc.cr || rr != tc.rr {
			t.Errorf("SplitImplicitPrompt(%q, %q) = %q, %q, %q; want %q, %q, %q", tc.c, tc.r, p, cr, rr, tc.p, tc.cr, tc.rr)
		}
		if p+cr != tc.c || p+rr != tc.r {
			t.Errorf("split of %q does not reassemble", tc.c)
		}
	}
	if _, _, _, err := SplitImplicitPrompt("same", "same"); err == nil {
		t.Error("identical texts: want an error")
	}
}

func TestReadTRLConversational(t *testing.T) {
	in := `{"prompt":[{"role":"system","content":"be nice"},{"role":"user","content":"hi"}],"chosen":[{"role":"assistant","content":"hello"}],"rejected":[{"role":"assistant","content":"go away"}]}
{"chosen":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}],"rejected":[{"role":"user","content":"hi"},{"role":"assistant","content":"go away"}]}
`
	pairs, _, err := ReadTRL(strings.NewReader(in), "c.jsonl", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := pairs[0]
	if e.Prompt != "\n\nSystem: be nice\n\nHuman: hi\n\nAssistant:" || e.Chosen != " hello" || e.Rejected != " go away" {
		t.Errorf("explicit conversational = %+v", e)
	}
	i := pairs[1]
	if i.Prompt != "\n\nHuman: hi\n\nAssistant:" || i.Chosen != " hello" || i.Rejected != " go away" {
		t.Errorf("implicit conversational = %+v", i)
	}
	bad := `{"prompt":[{"role":"user","content":"hi"}],"chosen":[{"role":"user","content":"x"}],"rejected":[{"role":"assistant","content":"y"}]}`
	if _, _, err := ReadTRL(strings.NewReader(bad), "c.jsonl", LoadOptions{}); err == nil || !strings.Contains(err.Error(), "c.jsonl:1") {
		t.Errorf("response starting with a user turn: err = %v", err)
	}
}

func TestReadTRLMalformed(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"bad json", "{\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"chosen\": oops}\n", "f.jsonl:2: invalid JSON"},
		{"missing rejected", "{\"prompt\":\"p\",\"chosen\":\"a\"}\n", "f.jsonl:1: missing field \"rejected\""},
		{"missing chosen", "\n\n{\"prompt\":\"p\",\"rejected\":\"a\"}\n", "f.jsonl:3: missing field \"chosen\""},
		{"number value", "{\"prompt\":\"p\",\"chosen\":1,\"rejected\":\"a\"}\n", "f.jsonl:1: field \"chosen\""},
		{"identical", "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"a\"}\n", "f.jsonl:1: chosen and rejected are identical"},
		{"mixed types", "{\"prompt\":\"p\",\"chosen\":[{\"role\":\"assistant\",\"content\":\"a\"}],\"rejected\":[{\"role\":\"assistant\",\"content\":\"b\"}]}\n", "f.jsonl:1:"},
	}
	for _, tc := range cases {
		_, _, err := ReadTRL(strings.NewReader(tc.in), "f.jsonl", LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestReadTRLSkipBad(t *testing.T) {
	in := "{\"chosen\":\"x a\",\"rejected\":\"x b\"}\nnot json\n{\"chosen\":\"y\"}\n{\"chosen\":\"x c\",\"rejected\":\"x d\"}\n"
	pairs, st, err := ReadTRL(strings.NewReader(in), "f.jsonl", LoadOptions{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 2 || st.Records != 2 || st.Skipped != 2 || len(st.Errors) != 2 {
		t.Fatalf("pairs %d, stats %+v", len(pairs), st)
	}
	if !strings.Contains(st.Errors[0].Error(), "f.jsonl:2") || !strings.Contains(st.Errors[1].Error(), "f.jsonl:3") {
		t.Errorf("skip reasons %v", st.Errors)
	}
	// Record numbers count skipped records too, so IDs match file positions.
	if pairs[1].ID != 3 || pairs[1].Source != "f.jsonl:4" {
		t.Errorf("pair after skipped records: %+v", pairs[1])
	}
}

func TestEmptyInputs(t *testing.T) {
	for _, in := range []string{"", "\n\n  \n"} {
		if _, _, err := ReadTRL(strings.NewReader(in), "e.jsonl", LoadOptions{}); !errors.Is(err, ErrNoRecords) || !strings.Contains(err.Error(), "e.jsonl") {
			t.Errorf("TRL %q: err = %v", in, err)
		}
		// encoding/csv skips empty lines; a whitespace-only line is a
		// one-column row, which is an error of its own.
		if _, _, err := ReadETHICS(strings.NewReader(strings.ReplaceAll(in, " ", "")), "e.csv", LoadOptions{}); !errors.Is(err, ErrNoRecords) {
			t.Errorf("ETHICS %q: err = %v", in, err)
		}
		if _, _, err := ReadText(strings.NewReader(in), "e.txt"); !errors.Is(err, ErrNoRecords) {
			t.Errorf("text %q: err = %v", in, err)
		}
		if _, _, err := ReadExamples(strings.NewReader(in), "e.jsonl", LoadOptions{}); !errors.Is(err, ErrNoRecords) {
			t.Errorf("examples %q: err = %v", in, err)
		}
	}
	// All records bad and skipped: still no records.
	if _, st, err := ReadTRL(strings.NewReader("x\n"), "e.jsonl", LoadOptions{SkipBad: true}); !errors.Is(err, ErrNoRecords) || st.Skipped != 1 {
		t.Errorf("all skipped: err = %v, stats %+v", err, st)
	}
}

func TestReadETHICS(t *testing.T) {
	in := "I ate cake.,I ate dirt.\n\"I said \"\"hi\"\", then left.\",\"A, B\"\n\"multi\nline\",other\nlast,one\n"
	pairs, st, err := ReadETHICS(strings.NewReader(in), "u.csv", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 4 {
		t.Fatalf("records %d", st.Records)
	}
	if pairs[1].Chosen != `I said "hi", then left.` || pairs[1].Rejected != "A, B" || pairs[1].Prompt != "" {
		t.Errorf("quoted row: %+v", pairs[1])
	}
	if pairs[2].Chosen != "multi\nline" || pairs[3].Source != "u.csv:5" {
		t.Errorf("multi-line row: %+v / %+v", pairs[2], pairs[3])
	}
	if pairs[0].Chosen != "I ate cake." || pairs[0].Rejected != "I ate dirt." {
		t.Errorf("first column must be Chosen: %+v", pairs[0])
	}
}

func TestReadETHICSMalformed(t *testing.T) {
	cases := []struct{ in, want string }{
		{"a,b\n\"x\ny\",z\nonly one column\n", "u.csv:4: expected 2 columns"},
		{"a,b,c\n", "u.csv:1: expected 2 columns (preferred, other), got 3"},
		{"a,\n", "u.csv:1: column 2"},
		{"a,b\n\"unterminated,b\n", "u.csv:2: invalid CSV"},
	}
	for _, tc := range cases {
		_, _, err := ReadETHICS(strings.NewReader(tc.in), "u.csv", LoadOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.in, err, tc.want)
		}
	}
	pairs, st, err := ReadETHICS(strings.NewReader("a,b\nlonely\nc,d\n"), "u.csv", LoadOptions{SkipBad: true})
	if err != nil || len(pairs) != 2 || st.Skipped != 1 || pairs[1].ID != 2 {
		t.Errorf("skip: %v %+v %+v", err, pairs, st)
	}
}

func TestReadExamples(t *testing.T) {
	in := `{"prompt":"p1","completion":" c1"}
{"id":5,"prompt":"p2"}
{"prompt":[{"role":"user","content":"hi"}],"completion":[{"role":"assistant","content":"yo"}]}
{"completion":"x"}
`
	_, _, err := ReadExamples(strings.NewReader(in), "s.jsonl", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "s.jsonl:4: missing field \"prompt\"") {
		t.Fatalf("err = %v", err)
	}
	ex, st, err := ReadExamples(strings.NewReader(in), "s.jsonl", LoadOptions{SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 || len(ex) != 3 {
		t.Fatalf("stats %+v", st)
	}
	if ex[0].Prompt != "p1" || ex[0].Response != " c1" || ex[1].ID != 5 || ex[1].Response != "" {
		t.Errorf("examples %+v", ex)
	}
	if ex[2].Prompt != "\n\nHuman: hi\n\nAssistant:" || ex[2].Response != " yo" {
		t.Errorf("conversational example %+v", ex[2])
	}
}

func TestReadText(t *testing.T) {
	long := strings.Repeat("w ", 100000) // a 200 kB line
	in := "first doc\r\n\nsecond doc\n" + long + "\nlast without newline"
	docs, st, err := ReadText(strings.NewReader(in), "c.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 4 || st.Blank != 1 || docs[0] != "first doc" || docs[2] != long || docs[3] != "last without newline" {
		t.Fatalf("docs %d, stats %+v", len(docs), st)
	}
}

func TestLoadGzipAndDispatch(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("{\"chosen\":\"p x\",\"rejected\":\"p y\"}\n"))
	zw.Close()
	gz := filepath.Join(dir, "pairs.jsonl.gz")
	if err := os.WriteFile(gz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pairs, _, err := LoadPairs(gz, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pairs[0].Prompt != "p" || pairs[0].Chosen != " x" || pairs[0].Source != gz+":1" {
		t.Errorf("gz pair %+v", pairs[0])
	}
	csvPath := writeFile(t, "u.csv", "\xef\xbb\xbfgood,bad\n") // with a byte-order mark
	if pairs, _, err := LoadPairs(csvPath, LoadOptions{}); err != nil || pairs[0].Chosen != "good" {
		t.Errorf("csv dispatch: %v %+v", err, pairs)
	}
	if _, _, err := LoadPairs(writeFile(t, "x.parquet", "x"), LoadOptions{}); err == nil {
		t.Error("unknown extension: want error")
	}
	if _, _, err := LoadPairs(filepath.Join(dir, "missing.jsonl"), LoadOptions{}); err == nil {
		t.Error("missing file: want error")
	}
	for path, want := range map[string]Format{
		gz:      FormatPairsJSONL,
		csvPath: FormatETHICS,
		writeFile(t, "s.jsonl", "\n{\"prompt\":\"a\",\"completion\":\"b\"}\n"): FormatExamplesJSONL,
		writeFile(t, "c.txt", "hello\n"):                                       FormatText,
	} {
		if f, err := DetectFormat(path); err != nil || f != want {
			t.Errorf("DetectFormat(%s) = %v, %v; want %v", path, f, err, want)
		}
	}
}
