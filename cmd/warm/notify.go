package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// serveNotifier asks a running warm serve to reload (POST /admin/reload)
// after merge --notify-serve published a merge.
type serveNotifier struct {
	endpoint string
	token    string
	client   *http.Client
}

// reloadResult is the server's answer to a successful reload.
type reloadResult struct {
	URL string `json:"url"`
	// Fingerprint is what the server now serves.
	Fingerprint string `json:"fingerprint"`
	// Note says when that is not the merge's fingerprint.
	Note string `json:"note,omitempty"`
}

// newServeNotifier checks the URL and finds the bearer token (tokenFile, else
// $WARM_SERVE_TOKEN) before anything is merged, so that a notification that
// cannot work is refused up front.
func newServeNotifier(base, tokenFile string, timeout time.Duration) (*serveNotifier, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--notify-serve %q: want the server's base URL, e.g. http://127.0.0.1:8080", base)
	}
	endpoint := strings.TrimSuffix(u.String(), "/")
	if !strings.HasSuffix(endpoint, "/admin/reload") {
		endpoint += "/admin/reload"
	}
	token := os.Getenv("WARM_SERVE_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--notify-token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("--notify-serve: warm serve's /admin/reload needs its bearer token: give --notify-token-file FILE or set WARM_SERVE_TOKEN")
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("--notify-timeout %v must be positive", timeout)
	}
	return &serveNotifier{endpoint: endpoint, token: token, client: &http.Client{Timeout: timeout}}, nil
}

// reload asks the server to reload. out and fingerprint are the published
// merge's path and fingerprint (fingerprint may be empty), for the messages.
func (n *serveNotifier) reload(ctx context.Context, out, fingerprint string) (*reloadResult, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("the merge is written to %s, but warm serve at %s did not reload: %s", out, n.endpoint, fmt.Sprintf(format, args...))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, nil)
	if err != nil {
		return nil, fail("%v", err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, fail("%v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fail("reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			msg = e.Error.Message
		}
		return nil, fail("HTTP %d: %s", resp.StatusCode, msg)
	}
	var ok struct {
		Fingerprint string `json:"fingerprint"`
	}
	if err := json.Unmarshal(body, &ok); err != nil || ok.Fingerprint == "" {
		return nil, fail("unexpected answer %q", strings.TrimSpace(string(body)))
	}
	r := &reloadResult{URL: n.endpoint, Fingerprint: ok.Fingerprint}
	if fingerprint != "" && ok.Fingerprint != fingerprint {
		r.Note = fmt.Sprintf("the merge's fingerprint is %s: the server serves another checkpoint (or merges its members itself)", fingerprint)
	}
	return r, nil
}
