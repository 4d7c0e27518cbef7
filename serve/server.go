// Package serve is warm's reward server: one reward model (a single RM or a
// merged WARM checkpoint) or an ensemble's members, of any family warm
// runs, behind HTTP endpoints that RL trainers already call (OpenRLHF's
// /get_reward, a vLLM-style /classify) and warm's own /v1/score and
// /v1/compare. Requests from concurrent clients are batched dynamically
// (at most MaxBatchTokens tokens: a batch takes what queued while the
// previous one ran, and waits at most MaxWait for more); a bounded queue
// answers 503 with Retry-After when full; a request is never split across
// batches, so all its rewards come from one model, whose fingerprint the
// response carries. Reload swaps in a checked new model atomically:
// in-flight requests finish on the old one.
package serve

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/warm-rm/warm/data"
)

// openAPI describes the endpoints (served at /openapi.json).
//
//go:embed openapi.json
var openAPI []byte

// Options configure a Server.
type Options struct {
	// Models are the checkpoint directories served: one reward model, or
	// the members of an ensemble (ENS, the mean of their rewards), or with
	// WARM the members of a weight average.
	Models []string
	// WARM serves the uniform weight average of Models, made at start (and
	// at each reload) exactly as `warm merge` makes it; the members stay in
	// memory for the uncertainty. IgnoreBaseFingerprint averages members
	// without a common warm.base_fingerprint (other tools' checkpoints).
	WARM, IgnoreBaseFingerprint bool
	// TempDir holds the average while it is loaded (default os.TempDir()).
	TempDir string
	// NoPack leaves the served GPT-2 weights as loaded instead of packing
	// them for the GEMM kernels (model.Model.PackForInference): the same
	// rewards, slower, and the packed copy's memory (about the weights
	// again) saved, for a server short of memory.
	NoPack bool
	// ReloadPairs, when set, is a pair set every model is scored on before
	// it is served: a reload whose accuracy is below the current model's by
	// more than ReloadTolerance is refused.
	ReloadPairs     []data.Pair
	ReloadTolerance float64
	// Token, when set, is the bearer token every endpoint but /healthz
	// requires. /admin/* is refused without one.
	Token string
	// MaxBatchTokens bounds a batch (default 8192 tokens; a single request
	// larger than it runs alone).
	MaxBatchTokens int
	// MaxWait is how long the first request of a batch waits for others
	// once the queue is empty (default 0: a batch takes what queued while
	// the previous one ran and starts at once, which batches a busy server
	// by itself and adds no latency to an idle one).
	MaxWait time.Duration
	// Queue is the number of requests that may wait (default 256).
	Queue int
	// MaxBodyBytes bounds a request body (default 8 MiB); MaxTexts the
	// texts a request may carry (default 512).
	MaxBodyBytes int64
	MaxTexts     int
	// Truncate is the policy for a text longer than the model's positions:
	// "refuse" (default: a 400 naming the text) or "left" (keep its last
	// tokens, where the reward is read).
	Truncate string
	// Timeout bounds a request from arrival to answer (default 60s): past
	// it the request's work is skipped and it is answered 504.
	Timeout time.Duration
	// Log receives one record per reload and per failed request (nil:
	// silent).
	Log *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxBatchTokens <= 0 {
		o.MaxBatchTokens = 8192
	}
	if o.Queue <= 0 {
		o.Queue = 256
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 8 << 20
	}
	if o.MaxTexts <= 0 {
		o.MaxTexts = 512
	}
	if o.Truncate == "" {
		o.Truncate = "refuse"
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Server serves rewards. Create it with New; Handler is its HTTP API.
type Server struct {
	opts     Options
	cur      atomic.Pointer[loaded]
	b        *batcher
	reloadMu sync.Mutex
	mux      *http.ServeMux

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	batchSeq prometheus.Histogram
	batchTok prometheus.Histogram
	tokens   prometheus.Counter
	reloads  *prometheus.CounterVec
}

// New loads the models and starts the batcher.
func New(opts Options) (*Server, error) {
	opts.defaults()
	if opts.Truncate != "refuse" && opts.Truncate != "left" {
		return nil, fmt.Errorf("truncation policy %q: want refuse or left", opts.Truncate)
	}
	s := &Server{opts: opts, reg: prometheus.NewRegistry()}
	l, err := load(opts.Models, &s.opts)
	if err != nil {
		return nil, err
	}
	s.cur.Store(l)
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warm_requests_total", Help: "Requests by endpoint and HTTP status."}, []string{"endpoint", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "warm_request_seconds", Help: "Request latency by endpoint.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"endpoint"})
	s.batchSeq = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warm_batch_sequences", Help: "Sequences per forward batch.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	s.batchTok = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "warm_batch_tokens", Help: "Tokens per forward batch.",
		Buckets: prometheus.ExponentialBuckets(16, 2, 14)})
	s.tokens = prometheus.NewCounter(prometheus.CounterOpts{Name: "warm_tokens_total", Help: "Tokens scored."})
	s.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "warm_reloads_total", Help: "Reloads by outcome."}, []string{"outcome"})
	s.reg.MustRegister(s.requests, s.latency, s.batchSeq, s.batchTok, s.tokens, s.reloads)
	s.b = newBatcher(opts.Queue, opts.MaxBatchTokens, opts.MaxWait, s.cur.Load, func(seqs, tokens int, _ float64) {
		s.batchSeq.Observe(float64(seqs))
		s.batchTok.Observe(float64(tokens))
		s.tokens.Add(float64(tokens))
	})
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "warm_queue_depth", Help: "Requests waiting for a batch."},
		func() float64 { return float64(s.b.depth()) }))
	s.mux = http.NewServeMux()
	s.route("POST /get_reward", "get_reward", s.getReward)
	s.route("POST /classify", "classify", s.classify)
	s.route("POST /v1/score", "score", s.score)
	s.route("POST /v1/compare", "compare", s.compare)
	s.route("GET /v1/model", "model", s.model)
	s.route("POST /admin/reload", "reload", s.adminReload)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	s.route("GET /readyz", "readyz", func(w http.ResponseWriter, _ *http.Request) error {
		io.WriteString(w, "ready\n")
		return nil
	})
	s.route("GET /openapi.json", "openapi", func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		_, err := w.Write(openAPI)
		return err
	})
	metrics := promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})
	s.mux.Handle("GET /metrics", s.auth(metrics))
	return s, nil
}

// Handler is the server's HTTP API.
func (s *Server) Handler() http.Handler { return s.mux }

// Close stops the batcher (after its current batch).
func (s *Server) Close() { s.b.close() }

// Fingerprint is the fingerprint of the model being served.
func (s *Server) Fingerprint() string { return s.cur.Load().fingerprint }

// Reload loads the served directories again and swaps the new model in if
// it reads the same tokens as the current one. Requests in flight finish on
// the model they started with; a failed reload keeps the current model.
func (s *Server) Reload() (string, error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.cur.Load()
	l, err := load(old.dirs, &s.opts)
	if err == nil {
		err = compatible(old.enc(), l.enc())
	}
	if err == nil && !s.opts.IgnoreBaseFingerprint && old.served().BaseFingerprint != l.served().BaseFingerprint {
		err = fmt.Errorf("its base fingerprint %q differs from the served model's %q (fine-tuned from another pre-trained model?)",
			l.served().BaseFingerprint, old.served().BaseFingerprint)
	}
	if err == nil && l.accuracy < old.accuracy-s.opts.ReloadTolerance {
		err = fmt.Errorf("its accuracy %.4f on the %d reload pairs is below the served model's %.4f by more than %.4f", l.accuracy, len(s.opts.ReloadPairs), old.accuracy, s.opts.ReloadTolerance)
	}
	if err != nil {
		s.reloads.WithLabelValues("failed").Inc()
		s.opts.Log.Error("reload failed; still serving the previous model", "fingerprint", old.fingerprint, "err", err)
		return old.fingerprint, fmt.Errorf("reload failed, still serving %s: %w", old.fingerprint, err)
	}
	s.cur.Store(l)
	s.reloads.WithLabelValues("ok").Inc()
	s.opts.Log.Info("reloaded", "model", l.describe(), "fingerprint", l.fingerprint, "previous", old.fingerprint)
	return l.fingerprint, nil
}

// httpError is an error with the status it answers.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// route registers an endpoint behind authentication, metrics and the JSON
// error convention.
func (s *Server) route(pattern, name string, h func(http.ResponseWriter, *http.Request) error) {
	s.mux.Handle(pattern, s.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		rec := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		if err := h(rec, r.WithContext(ctx)); err != nil {
			s.fail(rec, r, err)
		}
		s.requests.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
		s.latency.WithLabelValues(name).Observe(time.Since(t0).Seconds())
	})))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// fail answers err as {"error": {"message", "code"}}.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		status = he.status
	case errors.As(err, &mb):
		status = http.StatusRequestEntityTooLarge
		err = fmt.Errorf("request body larger than %d bytes", mb.Limit)
	case errors.Is(err, errQueueFull):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
		err = fmt.Errorf("the request took longer than the server's timeout of %v", s.opts.Timeout)
	case errors.Is(err, context.Canceled):
		status = 499 // the client went away; nobody reads this
	}
	if status >= 500 {
		s.opts.Log.Error("request failed", "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": err.Error(), "code": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// auth requires the bearer token when one is configured (/admin/* always).
func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := strings.HasPrefix(r.URL.Path, "/admin/")
		if s.opts.Token == "" {
			if admin {
				writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{"message": "admin endpoints need a token (warm serve --token-file)", "code": 403}})
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{"message": "missing or wrong bearer token", "code": 401}})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// readJSON reads a bounded body that must be valid UTF-8 JSON into v.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return badRequest("request body is not valid UTF-8")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("request body: %v", err)
	}
	return nil
}

// IsLoopback reports whether addr (host:port) listens on a loopback
// address only: anything else needs a token.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
