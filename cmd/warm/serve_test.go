package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/policy"
)

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs `warm serve` and waits until it answers /healthz.
func startServe(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := args[len(args)-1]
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd
		}
		if i > 200 {
			t.Fatalf("warm serve did not come up: %s", stderr.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestServeCommand runs the binary: OpenRLHF's client (Python, standard
// library) sharding over two servers gets the rewards `warm score` gives;
// a non-loopback address without a token is refused; SIGTERM drains and
// exits 0.
func TestServeCommand(t *testing.T) {
	bin := buildWarm(t)
	dir := t.TempDir()
	rm := filepath.Join(dir, "rm")
	if err := llamatest.Write(rm, llamatest.Options{Family: "qwen2", Vocab: 700, Tokenizer: "../../tokenizer/testdata/qwen2_bpe.json", Seed: 9}); err != nil {
		t.Fatal(err)
	}
	queries := []string{"<|im_start|>user\nthe cat<|im_end|>\n<|im_start|>assistant\nsat<|im_end|>", "a dog ate the bone", "i found money", "zzz"}
	// Offline: warm score on the same texts. A query is tokenized without
	// adding special tokens; for a Qwen2 tokenizer (no post-processor) that
	// is what {"text"} gives too.
	var recs bytes.Buffer
	for _, q := range queries {
		b, _ := json.Marshal(map[string]string{"text": q})
		recs.Write(append(b, '\n'))
	}
	os.WriteFile(filepath.Join(dir, "recs.jsonl"), recs.Bytes(), 0o644)
	out, err := exec.Command(bin, "score", "--model", rm, filepath.Join(dir, "recs.jsonl")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r struct{ Reward float64 }
		json.Unmarshal(sc.Bytes(), &r)
		want = append(want, r.Reward)
	}

	a, b := freeAddr(t), freeAddr(t)
	s1 := startServe(t, bin, "--model", rm, "--addr", a)
	startServe(t, bin, "--model", rm, "--addr", b)
	if py, err := exec.LookPath("python3"); err == nil {
		qf := filepath.Join(dir, "queries.json")
		raw, _ := json.Marshal(queries)
		os.WriteFile(qf, raw, 0o644)
		out, err := exec.Command(py, "../../serve/testdata/openrlhf_client.py", "http://"+a+",http://"+b, qf).CombinedOutput()
		if err != nil {
			t.Fatalf("client: %v\n%s", err, out)
		}
		lines := strings.Fields(string(out))
		if len(lines) != len(want) {
			t.Fatalf("client printed %q", out)
		}
		for i, l := range lines {
			got, _ := strconv.ParseFloat(l, 64)
			if math.Abs(got-want[i]) > 1e-4*math.Max(1, math.Abs(want[i])) {
				t.Errorf("query %d: served %v, warm score %v", i, got, want[i])
			}
		}
	} else {
		t.Log("python3 not found: the OpenRLHF client part is skipped")
	}
	if err := s1.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s1.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v (want exit 0)", err)
	}
	cmd := exec.Command(bin, "serve", "--model", rm, "--addr", "0.0.0.0:"+strings.Split(freeAddr(t), ":")[1])
	cmd.Env = append(os.Environ(), "WARM_SERVE_TOKEN=")
	if msg, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(msg), "bearer token") {
		t.Errorf("non-loopback without a token: %v %s", err, msg)
	}
}

// TestServedReward: best-of-N against a reward served by warm serve gives
// the same curves as the in-process reward model (same tokenizer: the
// items travel as token ids), and RL runs against it.
func TestServedReward(t *testing.T) {
	bin := buildWarm(t)
	dir := t.TempDir()
	tinyPolicySetup(t, dir)
	p := func(s string) string { return filepath.Join(dir, s) }
	member := p("sweep/members/member-00")
	addr := freeAddr(t)
	startServe(t, bin, "--model", member, "--addr", addr)
	common := []string{"--prompts", p("data/prompts.jsonl"), "--max-tokens", "6", "--max-prompts", "3", "--ref-samples", "2", "--max-n", "4"}
	read := func(run string) policy.BoNResult {
		var r policy.BoNResult
		raw, err := os.ReadFile(p(run + "/bon.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, c := range []struct{ reward, run string }{{"rm:" + member, "bon-local"}, {"http://" + addr, "bon-served"}} {
		if out, err := runCmd(t, newBoNCmd(), append([]string{"--policy", p("sft"), "--rewards", c.reward, "-o", p(c.run)}, common...)...); err != nil {
			t.Fatalf("bon %s: %v\n%s", c.reward, err, out)
		}
	}
	local, served := read("bon-local").Curves[0], read("bon-served").Curves[0]
	if fmt.Sprint(local.Proxy) != fmt.Sprint(served.Proxy) || fmt.Sprint(local.Control) != fmt.Sprint(served.Control) {
		t.Errorf("served curves differ from in-process ones:\n local  %v %v\n served %v %v", local.Proxy, local.Control, served.Proxy, served.Control)
	}
	if out, err := runCmd(t, newRLCmd(), "--policy", p("sft"), "--reward", "http://"+addr, "--prompts", p("data/prompts.jsonl"), "--max-tokens", "6",
		"--steps", "2", "--save-every", "2", "--eval-prompts", "2", "--prompts-per-step", "2", "--samples-per-prompt", "2", "-o", p("rl-served")); err != nil {
		t.Fatalf("rl against the served reward: %v\n%s", err, out)
	}
}
