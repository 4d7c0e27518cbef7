package chat

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// The expected strings below are what Python 3 prints (repr, json.dumps,
// datetime.strftime, str.strip), recorded by hand from python3.

func TestPyFloatRepr(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {0.1, "0.1"}, {2.5, "2.5"},
		{1e16, "1e+16"}, {1e15, "1000000000000000.0"}, {123456789012345678, "1.2345678901234568e+17"},
		{1e-4, "0.0001"}, {1e-5, "1e-05"}, {1.5e-7, "1.5e-07"}, {math.Pi, "3.141592653589793"},
		{1e22, "1e+22"}, {5e-324, "5e-324"}, {math.MaxFloat64, "1.7976931348623157e+308"},
		{-2.75e-10, "-2.75e-10"}, {100, "100.0"}, {1234.5, "1234.5"},
	} {
		if got := pyFloatRepr(tc.f); got != tc.want {
			t.Errorf("repr(%v) = %s, want %s", tc.f, got, tc.want)
		}
	}
	if pyJSONFloat(math.NaN()) != "NaN" || pyJSONFloat(math.Inf(-1)) != "-Infinity" {
		t.Error("json.dumps of NaN/-inf")
	}
}

// render renders src with the variables in vars (a JSON object).
func render(t *testing.T, src, vars string) (string, error) {
	t.Helper()
	tm, err := Compile("test", src)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseValue(json.RawMessage(vars))
	if err != nil {
		t.Fatal(err)
	}
	opts := RenderOptions{Vars: map[string]any{}}
	for _, k := range v.(*Object).Keys() {
		opts.Vars[k], _ = v.(*Object).Get(k)
	}
	return tm.Render(nil, opts)
}

func TestToJSON(t *testing.T) {
	const x = `{"x": {"b": [1, {}, []], "a": "x"}, "s": "é\u2028\u007f\u001f😀\b\f", "l": [1, [2]], "f": [1e-5, 2.0, -3]}`
	for _, tc := range []struct{ src, want string }{
		{`{{ x|tojson }}`, `{"b": [1, {}, []], "a": "x"}`},
		{`{{ x | tojson(indent=2) }}`, "{\n  \"b\": [\n    1,\n    {},\n    []\n  ],\n  \"a\": \"x\"\n}"},
		{`{{ x|tojson(indent=2, sort_keys=true) }}`, "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    {},\n    []\n  ]\n}"},
		{`{{ x|tojson(separators=(',', ':')) }}`, `{"b":[1,{},[]],"a":"x"}`},
		{`{{ s|tojson }}`, "\"é\u2028\u007f\\u001f😀\\b\\f\""},
		{`{{ s|tojson(ensure_ascii=true) }}`, `"\u00e9\u2028\u007f\u001f\ud83d\ude00\b\f"`},
		{`{{ l|tojson(indent=0) }}`, "[\n1,\n[\n2\n]\n]"},
		{`{{ l|tojson(indent='\t') }}`, "[\n\t1,\n\t[\n\t\t2\n\t]\n]"},
		{`{{ [1.0, 0.5, none, true] | tojson }}`, `[1.0, 0.5, null, true]`},
		{`{{ f|tojson }}`, `[1e-05, 2.0, -3]`},
		// "|tojson" inside a string literal is text, not a filter.
		{`{{ '|tojson' ~ '|trim' }}`, `|tojson|trim`},
	} {
		got, err := render(t, tc.src, x)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s\n got %q\nwant %q", tc.src, got, tc.want)
		}
	}
	if _, err := render(t, `{{ nothing|tojson }}`, `{}`); err == nil {
		t.Error("tojson of an undefined value must fail, as json.dumps does")
	}
}

func TestReprTrimString(t *testing.T) {
	for _, tc := range []struct{ src, vars, want string }{
		{`{{ v|string }}`, `{"v": ["a", {"k": null, "b": true, "f": 2.0}]}`, `['a', {'k': None, 'b': True, 'f': 2.0}]`},
		{`{{ v|string }}`, `{"v": ["it's", "a\"b", "both ' \"", "nl\n\t\u0000\u007f\u200b\u00a0é"]}`,
			`["it's", 'a"b', 'both \' "', 'nl\n\t\x00\x7f\u200b\xa0é']`},
		{`{{ v|trim }}`, `{"v": " \u001c\u001f\u3000 x \u0085"}`, `x`},
		{`{{ v|trim('-') }}`, `{"v": "--x-"}`, `x`},
		{`{{ v|trim }}`, `{"v": null}`, `None`},
		// {{ }} prints str(value), as Python does.
		{`{{ none }}|{{ 2.0 }}|{{ [1, 'a', "it's"] }}|{{ {'a': none} }}|{{ true }}|{{ x }}|{{ 3 if true else 4 }}|{{- 'k' -}}|{{ 'a' ~ 1.5 }}`,
			`{}`, `None|2.0|[1, 'a', "it's"]|{'a': None}|True||3|k|a1.5`},
		{`{{ v }}`, `{"v": [1e16, 0.1, null]}`, `[1e+16, 0.1, None]`},
	} {
		got, err := render(t, tc.src, tc.vars)
		if err != nil {
			t.Errorf("%s %s: %v", tc.src, tc.vars, err)
		} else if got != tc.want {
			t.Errorf("%s %s\n got %q\nwant %q", tc.src, tc.vars, got, tc.want)
		}
	}
}

func TestStrftime(t *testing.T) {
	d := time.Date(2025, 3, 7, 9, 5, 3, 123456000, time.FixedZone("X", 3600))
	for _, tc := range []struct{ format, want string }{
		{"%d %b %Y", "07 Mar 2025"},
		{"%-d %B %Y", "7 March 2025"},
		{"%A %a %j %y %H:%M:%S %I %p", "Friday Fri 066 25 09:05:03 09 AM"},
		{"%e|%-e|%F|%T|%D|%%|%Z|%z|%q", " 7|7|2025-03-07|09:05:03|03/07/25|%|||%q"},
		{"%-m/%-d %-H:%-M:%-S %-I %-j", "3/7 9:5:3 9 66"},
		{"%c", "Fri Mar  7 09:05:03 2025"},
		{"%u %w %f", "5 5 123456"},
	} {
		if got := strftime(d, tc.format); got != tc.want {
			t.Errorf("strftime(%q) = %q, want %q", tc.format, got, tc.want)
		}
	}
	tm, err := Compile("clock", `{{ strftime_now("%d %b %Y") }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tm.Render(nil, RenderOptions{Now: func() time.Time { return d }})
	if err != nil || got != "07 Mar 2025" {
		t.Errorf("strftime_now: %q, %v", got, err)
	}
}
