package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type goldenCase struct {
	Name     string          `json:"name"`
	Messages json.RawMessage `json:"messages"`
	Tools    json.RawMessage `json:"tools"`
	Kwargs   json.RawMessage `json:"kwargs"`
}

type goldenTemplate struct {
	Name          string            `json:"name"`
	SpecialTokens map[string]string `json:"special_tokens"`
}

type goldenResult struct {
	Template            string  `json:"template"`
	Case                string  `json:"case"`
	AddGenerationPrompt bool    `json:"add_generation_prompt"`
	Output              *string `json:"output"`
	RaiseException      *string `json:"raise_exception"`
	Error               *string `json:"error"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func special(m map[string]string) SpecialTokens {
	return SpecialTokens{BOS: m["bos_token"], EOS: m["eos_token"], UNK: m["unk_token"], PAD: m["pad_token"]}
}

// TestGolden renders every template in testdata/templates on every
// conversation in testdata/cases.json and compares with the renders of
// Python's jinja2 in transformers' environment (testdata/golden.json, made
// by testdata/gen_golden.py).
func TestGolden(t *testing.T) {
	var tmpls struct {
		Templates []goldenTemplate `json:"templates"`
	}
	readJSON(t, "testdata/templates.json", &tmpls)
	var cases struct {
		Now   string       `json:"now"`
		Cases []goldenCase `json:"cases"`
	}
	readJSON(t, "testdata/cases.json", &cases)
	var golden struct {
		Results []goldenResult `json:"results"`
	}
	readJSON(t, "testdata/golden.json", &golden)

	now, err := time.Parse("2006-01-02T15:04:05", cases.Now)
	if err != nil {
		t.Fatal(err)
	}
	compiled := map[string]*Template{}
	for _, gt := range tmpls.Templates {
		src, err := os.ReadFile(filepath.Join("testdata/templates", gt.Name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		tm, err := Compile(gt.Name, string(src))
		if err != nil {
			t.Fatalf("%s: %v", gt.Name, err)
		}
		tm.Special = special(gt.SpecialTokens)
		compiled[gt.Name] = tm
	}
	byName := map[string]goldenCase{}
	for _, c := range cases.Cases {
		byName[c.Name] = c
	}
	if len(golden.Results) != len(tmpls.Templates)*len(cases.Cases)*2 {
		t.Fatalf("golden.json has %d renders, want %d: regenerate it", len(golden.Results), len(tmpls.Templates)*len(cases.Cases)*2)
	}

	for _, g := range golden.Results {
		name := g.Template + "/" + g.Case
		if g.AddGenerationPrompt {
			name += "/gen"
		}
		t.Run(name, func(t *testing.T) {
			c := byName[g.Case]
			msgs, err := ParseMessages(c.Messages)
			if err != nil {
				t.Fatal(err)
			}
			opts := RenderOptions{AddGenerationPrompt: g.AddGenerationPrompt, Now: func() time.Time { return now }}
			if len(c.Tools) > 0 {
				v, err := ParseValue(c.Tools)
				if err != nil {
					t.Fatal(err)
				}
				opts.Tools = v.([]any)
			}
			if len(c.Kwargs) > 0 {
				v, err := ParseValue(c.Kwargs)
				if err != nil {
					t.Fatal(err)
				}
				opts.Vars = map[string]any{}
				for _, k := range v.(*Object).Keys() {
					opts.Vars[k], _ = v.(*Object).Get(k)
				}
			}
			got, err := compiled[g.Template].Render(msgs, opts)
			switch {
			case g.Output != nil:
				if err != nil {
					t.Fatalf("Python renders, Go fails: %v", err)
				}
				if got != *g.Output {
					t.Errorf("render differs from Python's\n got: %q\nwant: %q", got, *g.Output)
				}
			case g.RaiseException != nil:
				var re *RaiseError
				if err == nil {
					t.Fatalf("Python raises %q, Go renders %q", *g.RaiseException, got)
				}
				if !asRaise(err, &re) || re.Message != *g.RaiseException || !strings.Contains(err.Error(), *g.RaiseException) || !strings.Contains(err.Error(), g.Template) {
					t.Errorf("got error %v, want the template's raise_exception(%q)", err, *g.RaiseException)
				}
			case strings.HasPrefix(*g.Error, "TypeError: "):
				// Python's + refuses str + list and str + None (a turn's
				// content given as parts or null); the rewritten operators
				// must refuse them with Python's message.
				if err == nil {
					t.Fatalf("Python fails (%s), Go renders %q", *g.Error, got)
				}
				if !strings.Contains(err.Error(), *g.Error) || !strings.Contains(err.Error(), g.Template) {
					t.Errorf("got error %v, want Python's %q", err, *g.Error)
				}
			default:
				if err == nil {
					t.Errorf("Python fails (%s), Go renders %q", *g.Error, got)
				}
			}
		})
	}
}

func asRaise(err error, re **RaiseError) bool {
	r, ok := err.(*RaiseError)
	if ok {
		*re = r
	}
	return ok
}
