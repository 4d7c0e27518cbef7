package serve

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary bodies to every POST endpoint: the server
// must answer each with a 2xx or a 4xx JSON error, never a 5xx or a panic,
// and keep serving. The seed corpus is in testdata/fuzz/FuzzRequest.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"query": ["a dog"]}`, `{"query": ["a", "b"], "prompts": ["a"], "labels": [1]}`,
		`{"input": "x"}`, `{"input": ["x", "y"]}`,
		`{"items": [{"text": "a"}, {"input_ids": [1, 2]}, {"messages": [{"role": "user", "content": "hi"}]}]}`,
		`{"pairs": [{"prompt": "a", "chosen": " b", "rejected": " c"}]}`, `{"query": [`, "\xff", `[]`, `null`,
	} {
		for _, p := range []string{"/get_reward", "/classify", "/v1/score", "/v1/compare"} {
			f.Add(p, s)
		}
	}
	dir := filepath.Join(f.TempDir(), "rm")
	writeRM(f, dir, 11)
	s, err := New(Options{Models: []string{dir}, MaxBodyBytes: 1 << 16, MaxTexts: 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.Close)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/get_reward", "/classify", "/v1/score", "/v1/compare":
		default:
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if rec.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", path, body, rec.Code, rec.Body.String())
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"error"`) {
			t.Fatalf("%s %q: status %d without a JSON error: %s", path, body, rec.Code, rec.Body.String())
		}
	})
}
