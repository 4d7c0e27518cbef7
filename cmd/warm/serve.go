package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/serve"
)

func init() { rootCmd.AddCommand(newServeCmd()) }

func newServeCmd() *cobra.Command {
	var (
		model     string
		ens, warm []string
		addr      string
		tokenFile string
		checkOn   string
		watch     time.Duration
		opts      serve.Options
	)
	cmd := &cobra.Command{
		Use:   "serve (--model CKPT | --ens CKPT... | --warm CKPT...)",
		Short: "Serve a reward model (or an ensemble) over HTTP to RL trainers",
		Long: `Serve a reward model of any family warm runs: one checkpoint (a single RM or a
merged WARM model) with --model; an ensemble's members with --ens (the
mean of their rewards, M passes); or members with --warm, averaged in memory
at start exactly as 'warm merge' averages them and served as one model, the
members kept for their standard deviation when a request asks
("uncertainty": true on /v1/score).

Endpoints:
  POST /get_reward   OpenRLHF's remote reward model: {"query": [text, ...]}
                     -> {"rewards": [...], "scores": [...], "extra_logs": {}}
                     (queries are prompt + response with their special
                     tokens, tokenized without adding any)
  POST /classify     vLLM-style: {"input": text | [text, ...]} -> {"data":
                     [{"index": i, "probs": [reward]}]}
  POST /v1/score     {"items": [{"text"} | {"prompt", "response"} |
                     {"messages"} | {"input_ids"}], "uncertainty": bool}
  POST /v1/compare   {"pairs": [{"prompt", "chosen", "rejected"}]} -> rewards,
                     margins and the Bradley-Terry probability
  GET  /v1/model     what is served, and its fingerprint
  POST /admin/reload reload the checkpoints (also on SIGHUP); a reload that
                     fails its checks keeps the current model
  GET  /healthz, /readyz, /metrics (Prometheus)

Requests from concurrent clients are batched (--max-batch-tokens,
--max-wait); a full queue answers 503 with Retry-After. Every response
carries the fingerprint of the model that computed it (X-Warm-Fingerprint).
It listens on 127.0.0.1 unless told otherwise; any other address needs a
bearer token (--token-file, or WARM_SERVE_TOKEN), required on every
endpoint but /healthz. SIGTERM or Ctrl-C stops accepting, drains and exits 0.`,
		Example: `  warm serve --model runs/warm --addr 127.0.0.1:8000
  curl -s localhost:8000/get_reward -d '{"query": ["the boat was sold. TL;DR: a boat sold"]}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := 0
			for _, g := range []bool{model != "", len(ens) > 0, len(warm) > 0} {
				if g {
					given++
				}
			}
			switch {
			case given > 1:
				return errors.New("serve: give one of --model, --ens and --warm")
			case model != "":
				opts.Models = []string{model}
			case len(ens) == 1 || len(warm) == 1:
				return errors.New("serve: --ens and --warm need at least two members (serve one with --model)")
			case len(ens) > 1:
				opts.Models = ens
			case len(warm) > 1:
				opts.Models, opts.WARM = warm, true
			default:
				return errors.New("serve: --model CKPT, --ens CKPT... or --warm CKPT... is required")
			}
			token := os.Getenv("WARM_SERVE_TOKEN")
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("serve: --token-file: %w", err)
				}
				token = strings.TrimSpace(string(b))
			}
			if !serve.IsLoopback(addr) && token == "" {
				return fmt.Errorf("serve: %s is not a loopback address: give a bearer token (--token-file or WARM_SERVE_TOKEN)", addr)
			}
			opts.Token = token
			if checkOn != "" {
				pairs, _, err := data.LoadPairs(checkOn, data.LoadOptions{})
				if err != nil {
					return fmt.Errorf("serve: --reload-check-on: %w", err)
				}
				opts.ReloadPairs = pairs
			}
			opts.Log = stderrLog
			srv, err := serve.New(opts)
			if err != nil {
				return err
			}
			defer srv.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
				WriteTimeout: opts.Timeout + 10*time.Second, IdleTimeout: 2 * time.Minute}
			stderrLog.Info("serving", "addr", ln.Addr().String(), "models", strings.Join(opts.Models, ","), "fingerprint", srv.Fingerprint())
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					srv.Reload() // logs its outcome
				}
			}()
			if watch > 0 {
				go srv.Watch(cmd.Context(), watch)
			}
			errc := make(chan error, 1)
			go func() { errc <- hs.Serve(ln) }()
			select {
			case err := <-errc:
				return fmt.Errorf("serve: %w", err)
			case <-cmd.Context().Done():
			}
			stderrLog.Info("shutting down: draining requests")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := hs.Shutdown(ctx); err != nil {
				return fmt.Errorf("serve: shutdown: %w", err)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&model, "model", "", "reward-model checkpoint to serve (an RM or a merged WARM model)")
	fs.StringSliceVar(&ens, "ens", nil, "ensemble members to serve (the mean of their rewards; repeatable)")
	fs.StringSliceVar(&warm, "warm", nil, "members to average in memory and serve as one model (repeatable)")
	fs.BoolVar(&opts.IgnoreBaseFingerprint, "ignore-base-fingerprint", false, "with --warm: average members without a common warm.base_fingerprint (other tools' checkpoints)")
	fs.BoolVar(&opts.NoPack, "no-pack", false, "keep GPT-2 weights as loaded instead of packing a copy for the GEMM kernels (same rewards, slower, about the weights' memory saved)")
	fs.StringVar(&addr, "addr", "127.0.0.1:8000", "listen address")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the bearer token clients must send")
	fs.IntVar(&opts.MaxBatchTokens, "max-batch-tokens", 8192, "tokens per forward batch across requests")
	fs.DurationVar(&opts.MaxWait, "max-wait", 0, "how long a batch waits for more requests once the queue is empty (0: it takes what queued while the previous batch ran)")
	fs.IntVar(&opts.Queue, "queue", 256, "requests that may wait; more are answered 503")
	fs.Int64Var(&opts.MaxBodyBytes, "max-body", 8<<20, "largest request body in bytes")
	fs.IntVar(&opts.MaxTexts, "max-texts", 512, "most texts a request may carry")
	fs.DurationVar(&watch, "watch", 0, "poll the served directories this often and reload when their files change (0: off; SIGHUP and /admin/reload always work)")
	fs.StringVar(&opts.Truncate, "truncate", "refuse", "a text longer than the model's positions: refuse (a 400 naming it) or left (keep its last tokens)")
	fs.DurationVar(&opts.Timeout, "timeout", time.Minute, "longest a request may take (answered 504 past it)")
	fs.StringVar(&checkOn, "reload-check-on", "", "pair file (JSONL or ETHICS CSV): a reload whose accuracy on it falls below the served model's by more than --reload-check-tol is refused")
	fs.Float64Var(&opts.ReloadTolerance, "reload-check-tol", 0.02, "with --reload-check-on: the accuracy a reload may lose")
	return cmd
}
