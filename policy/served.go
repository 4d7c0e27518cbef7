package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// Served is a reward computed by a `warm serve` process: items are posted
// to its /v1/score. When the served model has the policy's tokenizer
// (/v1/model says which), items go as token ids laid out exactly as the
// in-process RM lays them out, so the rewards are the in-process ones;
// otherwise as prompt and response text, which the server encodes for its
// model (its chat template included). The bearer token, when the server
// needs one, is read from WARM_SERVE_TOKEN.
type Served struct {
	name, url, token string
	// BatchSize is the number of items per request.
	BatchSize int
	client    *http.Client
	info      *servedInfo
}

type servedInfo struct {
	MaxLen       int    `json:"max_len"`
	Family       string `json:"family"`
	TokenizerFP  string `json:"tokenizer_fingerprint"`
	Fingerprint  string `json:"fingerprint"`
	ChatTemplate bool   `json:"chat_template"`
}

// NewServed returns the reward served at url (http://HOST:PORT).
func NewServed(url string) *Served {
	return &Served{name: "served", url: strings.TrimRight(url, "/"), token: os.Getenv("WARM_SERVE_TOKEN"), BatchSize: 64,
		client: &http.Client{Timeout: 10 * time.Minute}}
}

// Name implements Reward.
func (s *Served) Name() string { return s.name }

func (s *Served) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("reward %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reward %s%s: %w", s.url, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reward %s%s: %s: %s", s.url, path, resp.Status, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("reward %s%s: %w", s.url, path, err)
	}
	return nil
}

// Score implements Reward.
func (s *Served) Score(ctx context.Context, b *Batch) ([]float64, error) {
	if s.info == nil {
		var info servedInfo
		if err := s.do(ctx, http.MethodGet, "/v1/model", nil, &info); err != nil {
			return nil, err
		}
		s.info = &info
	}
	same := s.info.Family == "gpt2" && b.Tokenizer != nil && b.Tokenizer.Fingerprint() == s.info.TokenizerFP
	eos := int32(-1)
	if same {
		eos = int32(b.Tokenizer.EOS())
	}
	out := make([]float64, 0, len(b.Items))
	for lo := 0; lo < len(b.Items); lo += max(s.BatchSize, 1) {
		items := b.Items[lo:min(lo+max(s.BatchSize, 1), len(b.Items))]
		recs := make([]map[string]any, len(items))
		for i, it := range items {
			if same {
				recs[i] = map[string]any{"input_ids": itemSeq(it, eos, s.info.MaxLen).Tokens}
			} else {
				recs[i] = map[string]any{"prompt": it.PromptText, "response": it.ResponseText}
			}
		}
		// The server computes float32 rewards and writes them in float32's
		// shortest form: read them back as float32, so they widen to the
		// same float64 as the in-process ones.
		var res struct {
			Rewards []float32 `json:"rewards"`
		}
		if err := s.do(ctx, http.MethodPost, "/v1/score", map[string]any{"items": recs}, &res); err != nil {
			return nil, err
		}
		if len(res.Rewards) != len(items) {
			return nil, fmt.Errorf("reward %s: %d rewards for %d items", s.url, len(res.Rewards), len(items))
		}
		for _, r := range res.Rewards {
			out = append(out, float64(r))
		}
	}
	return out, nil
}
