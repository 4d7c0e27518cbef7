package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ardanlabs/jinja"
)

// TestOperatorsGolden renders the small templates of
// testdata/operators.json, which exercise + and ~ against every other
// operator and every value type, and compares with Python's jinja2 in
// transformers' environment (testdata/gen_operators.py): the output byte
// for byte, a TypeError by its message, an UndefinedError by its type.
func TestOperatorsGolden(t *testing.T) {
	var golden struct {
		Vars    json.RawMessage `json:"vars"`
		Results []struct {
			Template string  `json:"template"`
			Output   *string `json:"output"`
			Error    *string `json:"error"`
		} `json:"results"`
	}
	readJSON(t, "testdata/operators.json", &golden)
	v, err := ParseValue(golden.Vars)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for _, k := range v.(*Object).Keys() {
		vars[k], _ = v.(*Object).Get(k)
	}
	if len(golden.Results) < 70 {
		t.Fatalf("operators.json has %d cases: regenerate it", len(golden.Results))
	}
	for _, g := range golden.Results {
		t.Run(g.Template, func(t *testing.T) {
			tm, err := Compile("case", g.Template)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tm.Render(nil, RenderOptions{Vars: vars})
			switch {
			case g.Output != nil:
				if err != nil {
					t.Fatalf("Python renders %q, Go fails: %v", *g.Output, err)
				}
				if got != *g.Output {
					t.Errorf("got %q, Python renders %q", got, *g.Output)
				}
			case strings.HasPrefix(*g.Error, "UndefinedError"):
				if err == nil || !strings.Contains(err.Error(), "UndefinedError") {
					t.Errorf("got %q, %v; Python fails: %s", got, err, *g.Error)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), *g.Error) {
					t.Errorf("got %q, %v; Python fails: %s", got, err, *g.Error)
				}
			}
		})
	}
}

// TestOperatorRewriteCoversTemplates checks that the operator rewrite
// understands every + and ~ of the committed real templates: none is left
// to the Jinja library's lenient operators.
func TestOperatorRewriteCoversTemplates(t *testing.T) {
	paths, err := filepath.Glob("testdata/templates/*.jinja")
	if err != nil || len(paths) < 10 {
		t.Fatalf("templates: %v (%d)", err, len(paths))
	}
	rewritten := 0
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out, missed, err := rewriteSource(string(src))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, m := range missed {
			t.Errorf("%s: operators left unrewritten in %q", p, m)
		}
		rewritten += strings.Count(out, addFunc+"(") + strings.Count(out, catFunc+"(")
	}
	if rewritten < 50 {
		t.Errorf("only %d operators rewritten in the ten templates", rewritten)
	}
}

// TestRewriteOperators pins the rewritten text: jinja2's grouping made
// explicit, the rest of the tag byte for byte.
func TestRewriteOperators(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{{ a + b ~ c }}", "{{ warm_add(a, warm_cat(b, c)) }}"},
		{"{{- a ~ b + c -}}", "{{- warm_add(warm_cat(a, b), c) -}}"},
		{"{{ 'x' + y|trim + '\\n' }}", "{{ warm_add(warm_add('x', y|trim), '\\n') }}"},
		{"{{ a + b if c else d + e }}", "{{ warm_add(a, b) if c else warm_add(d, e) }}"},
		{"{{ not a + b == c }}", "{{ not warm_add(a, b) == c }}"},
		{"{{ f(a + b, k=c ~ d)[i + 1] }}", "{{ f(warm_add(a, b), k=warm_cat(c, d))[warm_add(i, 1)] }}"},
		{"{{ a - b + c }}", "{{ warm_add(a - b, c) }}"},
		{"{{ -a + b }}", "{{ warm_add(-a, b) }}"},
		{"{{ a + b is string }}", "{{ warm_add(a, b is string) }}"},
		{"{{ '+' ~ '}}' }}", "{{ warm_cat('+', '}}') }}"},
		{"{%- set ns.i = ns.i + 1 %}", "{%- set ns.i = warm_add(ns.i, 1) %}"},
		{"{% for x in a + b if x ~ '' %}", "{% for x in warm_add(a, b) if warm_cat(x, '') %}"},
		{"{% elif m[loop.index0 + 1].role != 'tool' %}", "{% elif m[warm_add(loop.index0, 1)].role != 'tool' %}"},
		{"{{ a }}", "{{ a }}"},
		{"{% endif %}", "{% endif %}"},
		{"{%+ if a %}", "{%+ if a %}"},
		{"{{ 'a' \"b\" 'c' }}", "{{ ('a' ~ \"b\" ~ 'c') }}"},
	} {
		got, ok := rewriteOperators(c.in)
		if !ok || got != c.want {
			t.Errorf("rewriteOperators(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	// What the parser does not handle is left whole, and reported.
	for _, in := range []string{"{% macro w(x=1 + 2) %}", "{{ a + }}", "{{ a + b; c }}", "{% for x in a + %}"} {
		got, ok := rewriteOperators(in)
		if ok || got != in {
			t.Errorf("rewriteOperators(%q) = %q, %v; want it unchanged and reported", in, got, ok)
		}
	}
}

// FuzzRewriteOperators: the rewrite never panics, an unchanged tag is
// reported only when it holds an operator, and a tag it rewrites still
// compiles whenever the original does (go test -fuzz FuzzRewriteOperators
// ./chat; the seeds run in every go test).
func FuzzRewriteOperators(f *testing.F) {
	paths, _ := filepath.Glob("testdata/templates/*.jinja")
	for _, p := range paths {
		src, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, part := range strings.SplitAfter(string(src), "}}") {
			if i := strings.LastIndex(part, "{{"); i >= 0 {
				f.Add(part[i:])
			}
		}
	}
	f.Add("{% for x in a + b if c ~ d recursive %}")
	f.Add("{{ f(*a, **b)[1:2:3] + {'k': (1, 2)} }}")
	f.Fuzz(func(t *testing.T, tag string) {
		if len(tag) < 4 || !(strings.HasPrefix(tag, "{{") && strings.HasSuffix(tag, "}}") ||
			strings.HasPrefix(tag, "{%") && strings.HasSuffix(tag, "%}")) {
			return
		}
		out, ok := rewriteOperators(tag)
		if !ok && out != tag {
			t.Fatalf("reported as left alone but changed: %q -> %q", tag, out)
		}
		if out == tag {
			return
		}
		if _, err := jinja.Compile(tag); err == nil && strings.HasPrefix(tag, "{{") {
			if _, err := jinja.Compile(out); err != nil {
				t.Fatalf("%q compiles, its rewrite %q does not: %v", tag, out, err)
			}
		}
	})
}
