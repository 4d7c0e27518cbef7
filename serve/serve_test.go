package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/scorer"
)

const tok = "../tokenizer/testdata/qwen2_bpe.json"

func writeRM(t testing.TB, dir string, seed uint64) {
	t.Helper()
	if err := llamatest.Write(dir, llamatest.Options{Family: "qwen2", Vocab: 700, Tokenizer: tok, Seed: seed}); err != nil {
		t.Fatal(err)
	}
}

func newTestServer(t *testing.T, o Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t *testing.T, url, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(raw, &v)
	return resp.StatusCode, v, resp.Header
}

func floats(v any) []float64 {
	var out []float64
	for _, x := range v.([]any) {
		out = append(out, x.(float64))
	}
	return out
}

// offline scores texts as `warm score` would, with EncodeQuery.
func offline(t *testing.T, dir string, texts []string) []float32 {
	t.Helper()
	s, err := scorer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var seqs [][]int32
	for _, q := range texts {
		ids, err := s.EncodeQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ids)
	}
	r, err := s.Rewards(context.Background(), seqs, 1)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var queries = []string{"<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\nsat<|im_end|>", "a dog ate the bone", "i found money on the street", "x"}

// TestGetReward: OpenRLHF's request gives the offline rewards, in "rewards"
// and "scores", batched or not, from concurrent one-element requests too.
func TestGetReward(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 1)
	want := offline(t, dir, queries)
	s, ts := newTestServer(t, Options{Models: []string{dir}, MaxWait: 20 * time.Millisecond})
	q, _ := json.Marshal(map[string]any{"query": queries, "prompts": []string{"a", "b", "c", "d"}})
	code, v, h := post(t, ts.URL+"/get_reward", "", string(q))
	if code != 200 {
		t.Fatalf("status %d: %v", code, v)
	}
	if h.Get("X-Warm-Fingerprint") != s.Fingerprint() || v["fingerprint"] != s.Fingerprint() {
		t.Errorf("fingerprint %q / %v, serving %q", h.Get("X-Warm-Fingerprint"), v["fingerprint"], s.Fingerprint())
	}
	for i, key := range []string{"rewards", "scores"} {
		got := floats(v[key])
		for j := range want {
			if math.Abs(got[j]-float64(want[j])) > 1e-4*math.Max(1, math.Abs(float64(want[j]))) {
				t.Errorf("%s[%d] = %v, offline %v (%d)", key, j, got[j], want[j], i)
			}
		}
	}
	// OpenRLHF posts each rollout alone; concurrent requests share batches.
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for k := range 32 {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			i := k % len(queries)
			b, _ := json.Marshal(map[string]any{"query": []string{queries[i]}})
			code, v, _ := post(t, ts.URL+"/get_reward", "", string(b))
			if code != 200 {
				errs <- fmt.Sprintf("status %d", code)
				return
			}
			if got := floats(v["scores"])[0]; math.Abs(got-float64(want[i])) > 1e-4*math.Max(1, math.Abs(float64(want[i]))) {
				errs <- fmt.Sprintf("query %d: %v, offline %v", i, got, want[i])
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestOtherEndpoints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 2)
	_, ts := newTestServer(t, Options{Models: []string{dir}})
	code, v, _ := post(t, ts.URL+"/classify", "", `{"model": "rm", "input": "a dog ate the bone"}`)
	if code != 200 || len(v["data"].([]any)) != 1 {
		t.Fatalf("classify: %d %v", code, v)
	}
	one := v["data"].([]any)[0].(map[string]any)["probs"].([]any)[0].(float64)
	code, v, _ = post(t, ts.URL+"/classify", "", `{"input": ["x", "a dog ate the bone"]}`)
	if code != 200 || v["data"].([]any)[1].(map[string]any)["probs"].([]any)[0].(float64) != one {
		t.Errorf("classify of a list: %d %v", code, v)
	}
	code, v, _ = post(t, ts.URL+"/v1/score", "", `{"items": [{"text": "a dog ate the bone"}, {"prompt": "a dog", "response": " ate the bone"}, {"input_ids": [5, 6]}]}`)
	if r := floats(v["rewards"]); code != 200 || len(r) != 3 || r[0] != one || r[1] != one {
		t.Errorf("score: %d %v (classify gave %v)", code, v, one)
	}
	code, v, _ = post(t, ts.URL+"/v1/compare", "", `{"pairs": [{"prompt": "a dog", "chosen": " ate the bone", "rejected": " slept"}]}`)
	if code != 200 || floats(v["chosen"])[0] != one || len(floats(v["prob_chosen"])) != 1 {
		t.Errorf("compare: %d %v", code, v)
	}
	resp, err := http.Get(ts.URL + "/v1/model")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("model: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, _ = http.Get(ts.URL + "/metrics")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"warm_requests_total", "warm_batch_tokens", "warm_queue_depth", "warm_request_seconds"} {
		if !bytes.Contains(body, []byte(m)) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

// TestBadRequests: each is a 4xx JSON error, and the server keeps serving.
func TestBadRequests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 3)
	_, ts := newTestServer(t, Options{Models: []string{dir}, MaxBodyBytes: 4096, MaxTexts: 4})
	long, _ := json.Marshal(map[string]any{"items": []any{map[string]any{"input_ids": make([]int, 300)}}})
	for _, c := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"malformed JSON", "/get_reward", `{"query": [`, 400, "request body"},
		{"wrong type", "/get_reward", `{"query": "not a list"}`, 400, "request body"},
		{"invalid UTF-8", "/get_reward", "{\"query\": [\"\xff\xfe\"]}", 400, "UTF-8"},
		{"oversized", "/get_reward", `{"query": ["` + strings.Repeat("a", 5000) + `"]}`, 413, "larger than 4096"},
		{"too many texts", "/get_reward", `{"query": ["a", "b", "c", "d", "e"]}`, 400, "limit of 4"},
		{"empty", "/get_reward", `{"query": []}`, 400, "empty"},
		{"too long", "/v1/score", string(long), 400, "items[0] has 300 tokens"},
		{"bad record", "/v1/score", `{"items": [{"text": "a", "input_ids": [1]}]}`, 400, "items[0]"},
		{"id outside the vocabulary", "/v1/score", `{"items": [{"input_ids": [5, 9999]}]}`, 400, "items[0]"},
		{"classify input", "/classify", `{"input": 3}`, 400, "input"},
		{"uncertainty of one model", "/v1/score", `{"items": [{"text": "a"}], "uncertainty": true}`, 400, "members"},
		{"admin without a token", "/admin/reload", `{}`, 403, "token"},
	} {
		code, v, _ := post(t, ts.URL+c.path, "", c.body)
		msg := fmt.Sprint(v["error"])
		if code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.name, code, msg, c.code, c.want)
		}
	}
	if code, _, _ := post(t, ts.URL+"/get_reward", "", `{"query": ["still serving"]}`); code != 200 {
		t.Errorf("after the bad requests: status %d", code)
	}
	resp, _ := http.Get(ts.URL + "/get_reward")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /get_reward: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestTokenAndReload: the bearer token guards every endpoint but /healthz;
// a reload swaps the model (new fingerprint), and a failed one keeps the
// old model.
func TestTokenAndReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 4)
	s, ts := newTestServer(t, Options{Models: []string{dir}, Token: "s3cret"})
	body := `{"query": ["a dog ate the bone"]}`
	if code, _, _ := post(t, ts.URL+"/get_reward", "", body); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _, _ := post(t, ts.URL+"/get_reward", "wrong", body); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	code, v1, _ := post(t, ts.URL+"/get_reward", "s3cret", body)
	if code != 200 {
		t.Fatalf("right token: %d", code)
	}
	if resp, _ := http.Get(ts.URL + "/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	old := s.Fingerprint()
	writeRM(t, dir, 5) // new weights land in place
	code, v, _ := post(t, ts.URL+"/admin/reload", "s3cret", `{}`)
	if code != 200 || v["fingerprint"] == old {
		t.Fatalf("reload: %d %v (old %s)", code, v, old)
	}
	code, v2, _ := post(t, ts.URL+"/get_reward", "s3cret", body)
	if code != 200 || v2["fingerprint"] == v1["fingerprint"] || floats(v2["rewards"])[0] == floats(v1["rewards"])[0] {
		t.Errorf("after the reload: %v, before %v", v2, v1)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type": "qwen2"}`), 0o644)
	cur := s.Fingerprint()
	if code, v, _ := post(t, ts.URL+"/admin/reload", "s3cret", `{}`); code != 409 || !strings.Contains(fmt.Sprint(v["error"]), "still serving") {
		t.Errorf("broken reload: %d %v", code, v)
	}
	if s.Fingerprint() != cur {
		t.Error("a failed reload changed the model")
	}
	if code, _, _ := post(t, ts.URL+"/get_reward", "s3cret", body); code != 200 {
		t.Errorf("after a failed reload: %d", code)
	}
}

// TestEnsemble: --ens serves the members' mean, with their spread on request.
func TestEnsemble(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeRM(t, a, 6)
	writeRM(t, b, 7)
	ra, rb := offline(t, a, queries[1:2]), offline(t, b, queries[1:2])
	_, ts := newTestServer(t, Options{Models: []string{a, b}})
	code, v, _ := post(t, ts.URL+"/v1/score", "", `{"items": [{"text": "a dog ate the bone"}], "uncertainty": true}`)
	if code != 200 {
		t.Fatalf("%d %v", code, v)
	}
	mean, std := floats(v["rewards"])[0], floats(v["std"])[0]
	wantMean := (float64(ra[0]) + float64(rb[0])) / 2
	if math.Abs(mean-wantMean) > 1e-5 || math.Abs(std-math.Abs(float64(ra[0])-float64(rb[0]))/2) > 1e-5 {
		t.Errorf("ENS mean %v std %v, members %v %v", mean, std, ra[0], rb[0])
	}
}

// TestQueueFullAndCancel: a full queue refuses at once; a job whose client
// went away is skipped.
func TestQueueFullAndCancel(t *testing.T) {
	b := &batcher{queue: make(chan *job, 1)} // no worker: the queue stays full
	go b.submit(context.Background(), [][]int32{{1}}, false)
	for b.depth() == 0 {
		time.Sleep(time.Millisecond)
	}
	if _, err := b.submit(context.Background(), [][]int32{{1}}, false); err != errQueueFull {
		t.Errorf("full queue: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	b2 := &batcher{current: func() *loaded { ran = true; return nil }, observe: func(int, int, float64) {}}
	b2.runBatch([]*job{{ctx: ctx, seqs: [][]int32{{1}}, done: make(chan result, 1)}})
	if ran {
		t.Error("a cancelled job was scored")
	}
}

// TestWARM: --warm serves the average warm merge would write (same
// fingerprint, same rewards as the merged checkpoint scored offline), and
// the members' spread on request.
func TestWARM(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeRM(t, a, 8)
	writeRM(t, b, 9)
	merged := filepath.Join(root, "merged")
	res, err := merge.Run(context.Background(), merged, []string{a, b}, merge.Options{IgnoreBaseFingerprint: true})
	if err != nil {
		t.Fatal(err)
	}
	want := offline(t, merged, queries[1:2])
	ra, rb := offline(t, a, queries[1:2]), offline(t, b, queries[1:2])
	s, ts := newTestServer(t, Options{Models: []string{a, b}, WARM: true, IgnoreBaseFingerprint: true, TempDir: root})
	if s.Fingerprint() != res.Fingerprint {
		t.Errorf("served fingerprint %s, warm merge wrote %s", s.Fingerprint(), res.Fingerprint)
	}
	body, _ := json.Marshal(map[string]any{"items": []any{map[string]string{"text": queries[1]}}, "uncertainty": true})
	code, v, _ := post(t, ts.URL+"/v1/score", "", string(body))
	if code != 200 {
		t.Fatalf("%d %v", code, v)
	}
	if got := floats(v["rewards"])[0]; float32(got) != want[0] {
		t.Errorf("WARM reward %v, the merged checkpoint offline %v", got, want[0])
	}
	if got := floats(v["std"])[0]; math.Abs(got-math.Abs(float64(ra[0])-float64(rb[0]))/2) > 1e-5 {
		t.Errorf("std %v, members %v %v", got, ra[0], rb[0])
	}
	if entries, _ := os.ReadDir(root); len(entries) != 3 {
		t.Errorf("the temporary average was left behind: %v", entries)
	}
}

// TestReloadAccuracyCheck: with reload pairs, a new model that scores them
// worse than the served one is refused (here: the reward head negated,
// accuracy 1 → 0), and the served model stays.
func TestReloadAccuracyCheck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 12)
	texts := []string{"a dog ate the bone", "the cat sat", "i found money", "zzz", "x y z", "the boat"}
	r := offline(t, dir, texts)
	var pairs []data.Pair
	for i := 0; i+1 < len(texts); i += 2 {
		c, rj := texts[i], texts[i+1]
		if r[i] < r[i+1] {
			c, rj = rj, c
		}
		pairs = append(pairs, data.Pair{Chosen: c, Rejected: rj, Source: fmt.Sprintf("pair %d", i/2)})
	}
	s, ts := newTestServer(t, Options{Models: []string{dir}, Token: "t", ReloadPairs: pairs, ReloadTolerance: 0.1})
	cur := s.Fingerprint()
	err := llamatest.EditTensor(dir, "score.weight", func(v []float32) {
		for i := range v {
			v[i] = -v[i]
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	code, v, _ := post(t, ts.URL+"/admin/reload", "t", `{}`)
	if code != 409 || !strings.Contains(fmt.Sprint(v["error"]), "accuracy 0.0000") {
		t.Errorf("reload of a worse model: %d %v", code, v)
	}
	if s.Fingerprint() != cur {
		t.Error("the worse model was swapped in")
	}
}

// TestTruncateLeft: with --truncate left a long text keeps its last tokens.
func TestTruncateLeft(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 18)
	_, ts := newTestServer(t, Options{Models: []string{dir}, Truncate: "left"})
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = 5 + i%50
	}
	long, _ := json.Marshal(map[string]any{"items": []any{map[string]any{"input_ids": ids}, map[string]any{"input_ids": ids[44:]}}})
	code, v, _ := post(t, ts.URL+"/v1/score", "", string(long))
	if r := floats(v["rewards"]); code != 200 || r[0] != r[1] {
		t.Errorf("%d %v: the long text should score as its last 256 tokens", code, v)
	}
	if _, err := New(Options{Models: []string{dir}, Truncate: "middle"}); err == nil {
		t.Error("an unknown truncation policy was accepted")
	}
}

// TestTimeout: a request past the server's timeout is answered 504.
func TestTimeout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 13)
	_, ts := newTestServer(t, Options{Models: []string{dir}, Timeout: time.Nanosecond})
	if code, v, _ := post(t, ts.URL+"/get_reward", "", `{"query": ["a dog"]}`); code != 504 || !strings.Contains(fmt.Sprint(v["error"]), "timeout") {
		t.Errorf("%d %v", code, v)
	}
}

// TestOpenAPI: /openapi.json is valid JSON and describes every endpoint
// the server routes.
func TestOpenAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 14)
	_, ts := newTestServer(t, Options{Models: []string{dir}})
	resp, err := http.Get(ts.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Paths map[string]map[string]any
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for path, method := range map[string]string{"/get_reward": "post", "/classify": "post", "/v1/score": "post", "/v1/compare": "post",
		"/v1/model": "get", "/admin/reload": "post", "/healthz": "get", "/readyz": "get", "/metrics": "get", "/openapi.json": "get"} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("openapi.json lacks %s %s", method, path)
		}
	}
}

// TestWatch: new weights landing in the served directory are picked up.
func TestWatch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 15)
	s, _ := newTestServer(t, Options{Models: []string{dir}})
	old := s.Fingerprint()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 10*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	next := filepath.Join(t.TempDir(), "next")
	writeRM(t, next, 16)
	os.Rename(filepath.Join(next, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
	for i := 0; s.Fingerprint() == old; i++ {
		if i > 300 {
			t.Fatal("the new weights were not loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNonFiniteWeights: a checkpoint with a NaN weight is refused, naming
// the tensor.
func TestNonFiniteWeights(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rm")
	writeRM(t, dir, 17)
	if err := llamatest.EditTensor(dir, "model.layers.1.mlp.up_proj.weight", func(v []float32) { v[7] = float32(math.NaN()) }); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Models: []string{dir}}); err == nil || !strings.Contains(err.Error(), "model.layers.1.mlp.up_proj.weight") {
		t.Errorf("a NaN weight: %v", err)
	}
}

// TestReloadUnderLoad: while concurrent clients post, the served weights are
// replaced and reloaded. Every response succeeds, carries the old or the new
// fingerprint, and all its rewards are that model's (never a mix within a
// request); every request sent after the reload answered gets the new one.
func TestReloadUnderLoad(t *testing.T) {
	tmp := t.TempDir()
	dir, next := filepath.Join(tmp, "rm"), filepath.Join(tmp, "next")
	writeRM(t, dir, 6)
	writeRM(t, next, 7)
	wantOld, wantNew := offline(t, dir, queries), offline(t, next, queries)
	s, ts := newTestServer(t, Options{Models: []string{dir}, MaxWait: 2 * time.Millisecond, Token: "t0k"})
	fpOld := s.Fingerprint()
	body, _ := json.Marshal(map[string]any{"query": queries})

	type answer struct {
		fingerprint string
		rewards     []float64
		afterReload bool
	}
	var (
		mu      sync.Mutex
		answers []answer
		fails   []string
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		isNew   = make(chan struct{}) // closed once the reload has answered
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				after := false
				select {
				case <-isNew:
					after = true
				default:
				}
				req, _ := http.NewRequest("POST", ts.URL+"/get_reward", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer t0k")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					mu.Lock()
					fails = append(fails, err.Error())
					mu.Unlock()
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var v struct {
					Rewards     []float64 `json:"rewards"`
					Fingerprint string    `json:"fingerprint"`
				}
				mu.Lock()
				if err := json.Unmarshal(raw, &v); resp.StatusCode != 200 || err != nil {
					fails = append(fails, fmt.Sprintf("status %d: %s", resp.StatusCode, raw))
				} else {
					answers = append(answers, answer{v.Fingerprint, v.Rewards, after})
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	// The new member lands in place, file by file, as a copy would.
	for _, f := range []string{"config.json", "model.safetensors"} {
		raw, err := os.ReadFile(filepath.Join(next, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, v, _ := post(t, ts.URL+"/admin/reload", "t0k", `{}`)
	if code != 200 {
		t.Fatalf("reload: %d %v", code, v)
	}
	fpNew, _ := v["fingerprint"].(string)
	close(isNew)
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()

	if len(fails) > 0 {
		t.Fatalf("%d failed requests, the first: %s", len(fails), fails[0])
	}
	if fpNew == fpOld {
		t.Fatalf("the reload kept fingerprint %s", fpOld)
	}
	count := map[string]int{}
	for i, a := range answers {
		var want []float32
		switch a.fingerprint {
		case fpOld:
			want = wantOld
			if a.afterReload {
				t.Errorf("answer %d: sent after the reload answered, computed by the old model", i)
			}
		case fpNew:
			want = wantNew
		default:
			t.Fatalf("answer %d: fingerprint %q is neither the old %s nor the new %s", i, a.fingerprint, fpOld, fpNew)
		}
		count[a.fingerprint]++
		for j := range want {
			if math.Abs(a.rewards[j]-float64(want[j])) > 1e-4*math.Max(1, math.Abs(float64(want[j]))) {
				t.Fatalf("answer %d (%s): reward %d is %v, that model's offline reward %v", i, a.fingerprint, j, a.rewards[j], want[j])
			}
		}
	}
	if count[fpOld] == 0 || count[fpNew] == 0 {
		t.Errorf("answers by model %v: the load did not span the reload", count)
	}
	t.Logf("%d answers by the old model, %d by the new", count[fpOld], count[fpNew])
}
