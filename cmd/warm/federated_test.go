package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/pipeline"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

// fedSetup is a tiny federated sweep: a base and a second base from another
// seed, a coordinator manifest of three members, and three sites each
// holding a disjoint shard of the training pairs.
type fedSetup struct {
	dir, manifest, otherBase, canary string
	// shards[k] is site k's private training file.
	shards []string
	pairs  [][]data.Pair
}

func newFedSetup(t *testing.T) *fedSetup {
	t.Helper()
	dir := t.TempDir()
	_, tok := tinyTask(t, dir, 36)
	saveBase := func(name string, seed uint64) string {
		m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 64, NEmbd: 16, NLayer: 1, NHead: 2, PadID: tok.Pad()})
		if err != nil {
			t.Fatal(err)
		}
		m.InitWeights(seed)
		p := filepath.Join(dir, name)
		if err := checkpoint.Save(p, &checkpoint.Checkpoint{Model: m, Tokenizer: tok, Meta: checkpoint.Meta{Role: checkpoint.RoleBase}}, false); err != nil {
			t.Fatal(err)
		}
		return p
	}
	saveBase("base", 1)
	f := &fedSetup{dir: dir, otherBase: saveBase("other-base", 2), canary: filepath.Join(dir, "data", "ood_dev.jsonl")}
	all, _, err := data.LoadPairs(filepath.Join(dir, "data", "train.jsonl"), data.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		var shard []data.Pair
		for i := k; i < len(all); i += 3 {
			shard = append(shard, all[i])
		}
		p := filepath.Join(dir, fmt.Sprintf("site-%d", k), "private", "clinic-records.jsonl")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := data.WriteTRL(p, shard); err != nil {
			t.Fatal(err)
		}
		f.shards, f.pairs = append(f.shards, p), append(f.pairs, shard)
	}
	tc := train.DefaultConfig()
	tc.Steps, tc.BatchSize, tc.Warmup = 3, 4, 1
	man := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "../base", Head: "head", Train: "../data/train.jsonl",
		Probe: train.ProbeConfig{Steps: 5, LR: 0.05}, Config: tc}
	for k, h := range []struct {
		lr   float64
		drop float32
		save []int
	}{{1e-3, 0, nil}, {3e-4, 0.1, []int{2}}, {1e-3, 0.1, nil}} {
		// Each member's train file is its site's shard only so that `warm
		// sweep run --member K` can be compared with the site's training;
		// a real coordinator never sees the shards.
		rel, _ := filepath.Rel(filepath.Join(dir, "coord"), f.shards[k])
		man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("member-%02d", k), Init: "../base", LR: h.lr, Dropout: h.drop,
			DataSeed: uint64(10 + k), Seed: uint64(20 + k), SaveAt: h.save, Role: "shard", Train: rel})
	}
	f.manifest = filepath.Join(dir, "coord", "manifest.json")
	os.MkdirAll(filepath.Dir(f.manifest), 0o755)
	if err := man.Save(f.manifest); err != nil {
		t.Fatal(err)
	}
	return f
}

// runMergeCmd runs `warm merge ARGS` in-process with fresh flag values.
func runMergeCmd(args ...string) (string, error) {
	var out bytes.Buffer
	mergeFlags = mergeFlagValues{accumulate: "F64", shardSize: "0", fingerprint: "auto", checkTol: 0.02, checkBatch: 8, notifyTimeout: 60e9}
	for _, f := range []string{"lambda", "weights"} {
		mergeCmd.Flags().Lookup(f).Changed = false
	}
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(append([]string{"merge", "-q"}, args...))
	err := rootCmd.ExecuteContext(context.Background())
	return out.String(), err
}

// readTensors returns every tensor's raw bytes and the checkpoint's
// metadata.
func readTensors(t *testing.T, path string) (map[string][]byte, map[string]string) {
	t.Helper()
	s, err := safetensors.OpenSet(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := map[string][]byte{}
	for _, ti := range s.Tensors() {
		if out[ti.Name], err = s.ReadRaw(ti.Name, nil); err != nil {
			t.Fatal(err)
		}
	}
	return out, s.Metadata
}

// sameTensors requires a and b to hold the same tensors bit for bit.
func sameTensors(t *testing.T, a, b string) {
	t.Helper()
	ta, ma := readTensors(t, a)
	tb, mb := readTensors(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("%s has %d tensors, %s %d", a, len(ta), b, len(tb))
	}
	for name, x := range ta {
		if !bytes.Equal(x, tb[name]) {
			t.Errorf("tensor %s: %s and %s differ", name, a, b)
		}
	}
	if fa, fb := ma[safetensors.MetaFingerprint], mb[safetensors.MetaFingerprint]; fa == "" || fa != fb {
		t.Errorf("fingerprints %q (%s) and %q (%s)", fa, a, fb, b)
	}
}

// treeBytes reads every file under dir.
func treeBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// reloadRecorder is a stand-in warm serve that records /admin/reload calls
// and answers as warm serve does: the fingerprint of the checkpoint it
// serves (read again at each reload), or an error.
type reloadRecorder struct {
	mu     sync.Mutex
	calls  []*http.Request
	status int
	serves string
}

func (r *reloadRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.calls = append(r.calls, req)
	status := r.status
	r.mu.Unlock()
	io.Copy(io.Discard, req.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if status == http.StatusOK {
		fp := "unreadable"
		if s, err := safetensors.OpenSet(r.serves); err == nil {
			fp = s.Metadata[safetensors.MetaFingerprint]
			s.Close()
		}
		json.NewEncoder(w).Encode(map[string]any{"fingerprint": fp})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "reload failed, still serving wfp1:old: its accuracy is too low", "code": status}})
}

// TestFederatedSites is issue 13's federated flow: three sites with
// disjoint shards get a bundle each, train their member on their own data,
// return it, and the coordinator merges the returned members with --into
// (guarded by --check-on, notifying a warm serve). The running merge
// started from the first member alone (a one-member merge holds its bits
// exactly) with the two others added in one --into is the one-shot `warm
// merge` of the three bit for bit; added one at a time it agrees to within
// a float32 rounding (the intermediate average is rounded); each site's
// member is the one `warm sweep run --member K` trains on the same file;
// no returned file holds the sites' data; a member from another base, or
// with another config, is refused and the running merge stays as it was.
func TestFederatedSites(t *testing.T) {
	f := newFedSetup(t)
	p := func(s string) string { return filepath.Join(f.dir, s) }
	if out, err := runCmd(t, newSweepCmd(), "export", f.manifest, "--member", "0", "-o", p("site-0/bundle")); err == nil || !strings.Contains(err.Error(), "--head-only") {
		t.Fatalf("export before the head exists: %v\n%s", err, out)
	}
	if out, err := runCmd(t, newSweepCmd(), "run", f.manifest, "--head-only"); err != nil {
		t.Fatalf("head: %v\n%s", err, out)
	}

	// Coordinator: one bundle per site, holding the init, the head and
	// bundle.json, and nothing of the training data.
	var members []string
	for k := range 3 {
		site := p(fmt.Sprintf("site-%d", k))
		bundle := filepath.Join(site, "bundle")
		if out, err := runCmd(t, newSweepCmd(), "export", f.manifest, "--member", fmt.Sprint(k), "-o", bundle); err != nil {
			t.Fatalf("export %d: %v\n%s", k, err, out)
		}
		var names []string
		for path, b := range treeBytes(t, bundle) {
			rel, _ := filepath.Rel(bundle, path)
			names = append(names, rel)
			assertNoData(t, path, b, f.pairs, "train.jsonl", "ood_dev", "clinic-records")
		}
		slices.Sort(names)
		want := []string{"bundle.json", "head/config.json", "head/model.safetensors", "head/special_tokens_map.json", "head/tokenizer.json", "head/tokenizer_config.json",
			"init/config.json", "init/model.safetensors", "init/special_tokens_map.json", "init/tokenizer.json", "init/tokenizer_config.json"}
		if !slices.Equal(names, want) {
			t.Errorf("bundle %d holds %v, want %v", k, names, want)
		}
		// Site: train from the bundle on the site's own shard.
		member := filepath.Join(site, "member")
		if out, err := runCmd(t, newTrainCmd(), "--bundle", bundle, "-o", member, f.shards[k]); err != nil {
			t.Fatalf("site %d: train --bundle: %v\n%s", k, err, out)
		}
		members = append(members, member)
	}
	if _, err := runCmd(t, newTrainCmd(), "--bundle", p("site-0/bundle"), "--lr", "0.1", "--init", p("base"), "-o", p("x"), f.shards[0]); err == nil ||
		!strings.Contains(err.Error(), "--init") || !strings.Contains(err.Error(), "--lr") {
		t.Errorf("train --bundle with --lr and --init: %v", err)
	}

	// The bundle holds exactly the member's hyper-parameters: `warm sweep
	// run --member K` on the same file trains the same bits.
	for k := range 3 {
		if out, err := runCmd(t, newSweepCmd(), "run", f.manifest, "--member", fmt.Sprint(k)); err != nil {
			t.Fatalf("sweep run --member %d: %v\n%s", k, err, out)
		}
		man, _ := sweep.Load(f.manifest)
		sameTensors(t, members[k], man.MemberDir(k))
	}
	sameTensors(t, filepath.Join(members[1]+".steps", "step-000002"), filepath.Join(f.dir, "coord", "members", "member-01.steps", "step-000002"))

	// No training data leaves a site: no file the site returns (weights
	// and their metadata, config, tokenizer) holds a text of its shard or
	// a path of the site.
	for k, m := range members {
		for _, dir := range []string{m, m + ".steps"} {
			if _, err := os.Stat(dir); err != nil {
				continue
			}
			for path, b := range treeBytes(t, dir) {
				assertNoData(t, path, b, f.pairs[k:k+1], f.shards[k], f.dir, "clinic-records", "private", "site-")
			}
		}
	}

	// Coordinator: the running merge starts from the first returned member
	// and adds the others; it is checked on the canary pairs and notifies
	// warm serve.
	run := p("coord/warm")
	rec := &reloadRecorder{status: http.StatusOK, serves: run}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	t.Setenv("WARM_SERVE_TOKEN", "s3cret")
	if out, err := runMergeCmd("-o", run, members[0]); err != nil {
		t.Fatalf("merge of the first member: %v\n%s", err, out)
	}
	out, err := runMergeCmd("--into", run, "-o", run, "--check-on", f.canary, "--check-tol", "1", "--notify-serve", srv.URL, members[1], members[2])
	if err != nil {
		t.Fatalf("merge --into: %v\n%s", err, out)
	}
	_, meta := readTensors(t, run)
	if !strings.Contains(out, "published average") || !strings.Contains(out, "check passed") ||
		!strings.Contains(out, "reloaded: now serving "+meta[safetensors.MetaFingerprint]) || strings.Contains(out, "note:") {
		t.Errorf("merge --into output:\n%s", out)
	}
	if len(rec.calls) != 1 || rec.calls[0].Method != http.MethodPost || rec.calls[0].URL.Path != "/admin/reload" || rec.calls[0].Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("reload requests %+v", rec.calls)
	}
	once := p("coord/warm-once")
	if out, err := runMergeCmd(append([]string{"-o", once}, members...)...); err != nil {
		t.Fatalf("one-shot merge: %v\n%s", err, out)
	}
	sameTensors(t, run, once)

	// One member at a time, the running merge rounds the intermediate
	// average to float32, so it agrees with the one-shot merge to within
	// that rounding, not bit for bit.
	step := p("coord/warm-step")
	runMergeCmd("-o", step, members[0])
	for _, m := range members[1:] {
		if out, err := runMergeCmd("--into", step, "-o", step, m); err != nil {
			t.Fatalf("merge --into one member: %v\n%s", err, out)
		}
	}
	compareWithinRounding(t, step, once, members)

	// A member from another base is refused, and so is one with another
	// config; the running merge is left as it was, byte for byte.
	foreign := p("site-x/member")
	tc := train.DefaultConfig()
	tc.Steps, tc.BatchSize, tc.Warmup = 2, 4, 1
	if _, err := pipeline.TrainRM(context.Background(), pipeline.RMOptions{Out: foreign, Init: f.otherBase, Data: f.shards[0], Probe: train.ProbeConfig{Steps: 5, LR: 0.05}, Train: tc}); err != nil {
		t.Fatal(err)
	}
	otherCfg := p("site-y/member")
	copyTree(t, members[2], otherCfg)
	editJSON(t, filepath.Join(otherCfg, "config.json"), func(c map[string]any) { c["n_head"] = 4.0 })
	before := treeBytes(t, run)
	for _, c := range []struct{ member, want string }{
		{foreign, "not fine-tuned from the same pre-trained base"},
		{otherCfg, "n_head"},
	} {
		out, err := runMergeCmd("--into", run, "-o", run, "--notify-serve", srv.URL, c.member)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("merge --into %s: %v (want %q)\n%s", c.member, err, c.want, out)
		}
	}
	if after := treeBytes(t, run); len(after) != len(before) {
		t.Errorf("refused merges changed %s's files", run)
	} else {
		for path, b := range before {
			if !bytes.Equal(after[path], b) {
				t.Errorf("refused merges changed %s", path)
			}
		}
	}
	entries, _ := os.ReadDir(p("coord"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("refused merges left %s", e.Name())
		}
	}
	if len(rec.calls) != 1 {
		t.Errorf("refused merges notified warm serve (%d calls)", len(rec.calls))
	}

	// The guard: adding a member whose reward head is the negation of the
	// average's makes an average with a zero head (every canary pair a
	// tie), below both the published average and the members' mean; it is
	// refused and nothing is written or notified.
	ck, err := checkpoint.Load(run)
	if err != nil {
		t.Fatal(err)
	}
	ck.Meta.Extra = nil // a plain member, not a merge
	for _, prm := range ck.Model.Params() {
		if prm.Name == "score.weight" {
			for i := range prm.Data {
				prm.Data[i] *= -3 // weight 1/4 against the average's 3/4
			}
		}
	}
	neg := p("site-z/member")
	if err := checkpoint.Save(neg, ck, false); err != nil {
		t.Fatal(err)
	}
	out, err = runMergeCmd("--into", run, "-o", run, "--check-on", f.canary, "--notify-serve", srv.URL, neg)
	if err == nil || !strings.Contains(err.Error(), "below the published average") || !strings.Contains(out, "check FAILED") {
		t.Errorf("guarded merge of a breaking member: %v\n%s", err, out)
	}
	for path, b := range before {
		if now, _ := os.ReadFile(path); !bytes.Equal(now, b) {
			t.Errorf("refused guarded merge changed %s", path)
		}
	}
	if len(rec.calls) != 1 {
		t.Errorf("a refused guarded merge notified warm serve (%d calls)", len(rec.calls))
	}

	// A failed reload: the merge is published, the exit is an error that
	// says so and gives the server's message.
	rec.status = http.StatusConflict
	late := p("coord/warm-late")
	out, err = runMergeCmd("--notify-serve", srv.URL, "-o", late, members[0])
	if err == nil || !strings.Contains(err.Error(), "the merge is written to "+late) || !strings.Contains(err.Error(), "did not reload: HTTP 409: reload failed") {
		t.Errorf("failed reload: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(late, "model.safetensors")); err != nil {
		t.Errorf("merge not published before the failed reload: %v", err)
	}
	t.Setenv("WARM_SERVE_TOKEN", "")
	if _, err := runMergeCmd("--notify-serve", srv.URL, "-o", p("coord/warm-notoken"), members[0]); err == nil || !strings.Contains(err.Error(), "WARM_SERVE_TOKEN") {
		t.Errorf("notify without a token: %v", err)
	}
	if _, err := os.Stat(p("coord/warm-notoken")); err == nil {
		t.Error("a notify without a token merged anyway")
	}
}

// assertNoData fails when b holds a text of the pairs of at least 12
// characters (as is, or escaped as JSON) or one of the strings private.
func assertNoData(t *testing.T, path string, b []byte, pairs [][]data.Pair, private ...string) {
	t.Helper()
	var texts []string
	for _, ps := range pairs {
		for _, pr := range ps {
			for _, s := range []string{pr.Prompt, pr.Chosen, pr.Rejected} {
				if len(s) >= 12 {
					texts = append(texts, s)
				}
			}
		}
	}
	if len(texts) == 0 {
		t.Fatal("no texts of 12 characters or more to look for")
	}
	for _, s := range texts {
		esc, _ := json.Marshal(s)
		if bytes.Contains(b, []byte(s)) || bytes.Contains(b, esc[1:len(esc)-1]) {
			t.Errorf("%s holds training text %q", path, s)
		}
	}
	for _, s := range private {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s holds %q", path, s)
		}
	}
}

// compareWithinRounding requires the float32 tensors of a and b, two
// averages of members, to agree to within one float32 rounding of the
// largest member value (the intermediate average a running update rounds
// can be as large as that, and members' values can cancel), and logs how
// many elements differ.
func compareWithinRounding(t *testing.T, a, b string, members []string) {
	t.Helper()
	f32 := func(raw []byte, i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])) }
	ta, _ := readTensors(t, a)
	tb, _ := readTensors(t, b)
	var tm []map[string][]byte
	for _, m := range members {
		x, _ := readTensors(t, m)
		tm = append(tm, x)
	}
	diff, total := 0, 0
	for name, x := range ta {
		y := tb[name]
		for i := range len(x) / 4 {
			u, v := f32(x, i), f32(y, i)
			total++
			if u == v {
				continue
			}
			diff++
			big := float32(0)
			for _, m := range tm {
				big = max(big, float32(math.Abs(float64(f32(m[name], i)))))
			}
			if ulp := math.Nextafter32(big, float32(math.Inf(1))) - big; math.Abs(float64(u-v)) > float64(ulp) {
				t.Errorf("tensor %s element %d: %v vs %v, more than a float32 rounding of the largest member value %v apart", name, i, u, v, big)
			}
		}
	}
	t.Logf("one member at a time: %d of %d elements differ from the one-shot merge (within a float32 rounding)", diff, total)
}

func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
