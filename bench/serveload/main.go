// Command serveload is the load generator of bench/serve_load.sh: C
// concurrent clients send N requests in all to a warm serve /get_reward,
// one text a request (as OpenRLHF's trainer posts each rollout), and it
// prints throughput, latency percentiles, errors and the fingerprints seen.
// With -reload-after K it posts /admin/reload after K responses, to check
// that a reload under load fails nothing.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8000", "server")
	token := flag.String("token", "", "bearer token")
	clients := flag.Int("c", 16, "concurrent clients")
	n := flag.Int("n", 1000, "requests in all")
	textsFile := flag.String("texts", "", "JSONL of {\"text\": ...} records")
	reloadAfter := flag.Int("reload-after", 0, "post /admin/reload after this many responses (0: never)")
	flag.Parse()
	texts, err := readTexts(*textsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serveload:", err)
		os.Exit(1)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients}, Timeout: 2 * time.Minute}
	do := func(path string, body any, out any) error {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", *url+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if *token != "" {
			req.Header.Set("Authorization", "Bearer "+*token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(raw))
		}
		return json.Unmarshal(raw, out)
	}
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		lat        []float64
		errs       []string
		fps        = map[string]int{}
		wg         sync.WaitGroup
		reloaded   atomic.Bool
	)
	t0 := time.Now()
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= *n {
					return
				}
				s := time.Now()
				var res struct {
					Scores      []float64 `json:"scores"`
					Fingerprint string    `json:"fingerprint"`
				}
				err := do("/get_reward", map[string]any{"query": []string{texts[i%len(texts)]}}, &res)
				d := time.Since(s).Seconds()
				mu.Lock()
				if err == nil && len(res.Scores) != 1 {
					err = fmt.Errorf("%d scores for one query", len(res.Scores))
				}
				if err != nil {
					errs = append(errs, err.Error())
				} else {
					lat = append(lat, d)
					fps[res.Fingerprint]++
				}
				mu.Unlock()
				if k := done.Add(1); *reloadAfter > 0 && int(k) >= *reloadAfter && reloaded.CompareAndSwap(false, true) {
					var r map[string]any
					if err := do("/admin/reload", map[string]any{}, &r); err != nil {
						mu.Lock()
						errs = append(errs, "reload: "+err.Error())
						mu.Unlock()
					}
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0).Seconds()
	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))] * 1000
	}
	keys := make([]string, 0, len(fps))
	for k := range fps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Printf("clients=%d requests=%d texts_per_s=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d fingerprints=%d\n",
		*clients, *n, float64(len(lat))/wall, pct(0.5), pct(0.99), len(errs), len(fps))
	for i, e := range errs {
		if i == 3 {
			break
		}
		fmt.Fprintln(os.Stderr, "serveload: error:", e)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

func readTexts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r struct{ Text string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, r.Text)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no texts", path)
	}
	return out, sc.Err()
}
