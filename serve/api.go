package serve

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/warm-rm/warm/scorer"
)

// encodeAll encodes the request's texts with the current model, naming the
// first that fails (index and field).
func (s *Server) encodeAll(field string, n int, enc func(i int) ([]int32, error)) ([][]int32, error) {
	if n == 0 {
		return nil, badRequest("%s is empty", field)
	}
	if n > s.opts.MaxTexts {
		return nil, badRequest("%s has %d texts, more than the server's limit of %d", field, n, s.opts.MaxTexts)
	}
	seqs := make([][]int32, n)
	for i := range seqs {
		ids, err := enc(i)
		if err != nil {
			if name := fmt.Sprintf("%s[%d]", field, i); strings.HasPrefix(err.Error(), name) {
				return nil, badRequest("%v", err) // a record names itself
			}
			return nil, badRequest("%s[%d]: %v", field, i, err)
		}
		seqs[i] = ids
	}
	return seqs, nil
}

// checkLen applies the truncation policy to texts longer than the model's
// positions: "refuse" answers a 400 naming the text, "left" keeps its last
// tokens (the reward is read at the end). Nothing is cut silently: the
// policy is the server's, stated at start.
func checkLen(enc *scorer.Scorer, policy, field string, seqs [][]int32) error {
	n := enc.Model.MaxLen()
	for i, s := range seqs {
		switch {
		case len(s) == 0:
			return badRequest("%s[%d] has no tokens", field, i)
		case len(s) > n && policy == "left":
			seqs[i] = s[len(s)-n:]
		case len(s) > n:
			return badRequest("%s[%d] has %d tokens, more than the model's %d positions (the server refuses longer texts; warm serve --truncate left keeps their last tokens)", field, i, len(s), n)
		}
	}
	return nil
}

// run encodes, checks and scores a request's sequences in one batch.
func (s *Server) run(r *http.Request, field string, n int, std bool, enc func(m *scorer.Scorer, i int) ([]int32, error)) (result, error) {
	m := s.cur.Load().enc()
	seqs, err := s.encodeAll(field, n, func(i int) ([]int32, error) { return enc(m, i) })
	if err != nil {
		return result{}, err
	}
	if err := checkLen(m, s.opts.Truncate, field, seqs); err != nil {
		return result{}, err
	}
	res, err := s.b.submit(r.Context(), seqs, std)
	res.tokens = tokensOf(seqs)
	return res, err
}

func (s *Server) respond(w http.ResponseWriter, res result, v map[string]any) {
	w.Header().Set("X-Warm-Fingerprint", res.fingerprint)
	v["fingerprint"] = res.fingerprint
	writeJSON(w, http.StatusOK, v)
}

// getRewardRequest is OpenRLHF's remote reward model request.
type getRewardRequest struct {
	Query   []string          `json:"query"`
	Prompts []string          `json:"prompts"`
	Labels  []json.RawMessage `json:"labels"`
}

// getReward is OpenRLHF's POST /get_reward: each query is prompt +
// response text with its special tokens, tokenized without adding any (as
// OpenRLHF's serve_rm.py does). The answer carries the rewards twice, as
// "rewards" and "scores" (OpenRLHF's trainer reads scores first).
func (s *Server) getReward(w http.ResponseWriter, r *http.Request) error {
	var req getRewardRequest
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	res, err := s.run(r, "query", len(req.Query), false, func(m *scorer.Scorer, i int) ([]int32, error) { return m.EncodeQuery(req.Query[i]) })
	if err != nil {
		return err
	}
	out := map[string]any{"rewards": res.rewards, "scores": res.rewards, "extra_logs": map[string]any{}}
	if res.std != nil {
		out["extra_logs"] = map[string]any{"reward_std": res.std}
	}
	s.respond(w, res, out)
	return nil
}

// classifyRequest is vLLM's pooling /classify request; input is a string
// or a list of strings.
type classifyRequest struct {
	Model string          `json:"model"`
	Input json.RawMessage `json:"input"`
}

var classifyID atomic.Int64

// classify is a vLLM-style POST /classify: each input is a text, tokenized
// with the tokenizer's special tokens (vLLM's default), and its reward is
// the one "probability" of a one-label classifier.
func (s *Server) classify(w http.ResponseWriter, r *http.Request) error {
	var req classifyRequest
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	var texts []string
	var one string
	if err := json.Unmarshal(req.Input, &one); err == nil {
		texts = []string{one}
	} else if err := json.Unmarshal(req.Input, &texts); err != nil {
		return badRequest("input: want a string or a list of strings")
	}
	res, err := s.run(r, "input", len(texts), false, func(m *scorer.Scorer, i int) ([]int32, error) { return m.EncodeText(texts[i]) })
	if err != nil {
		return err
	}
	data := make([]map[string]any, len(texts))
	tokens := res.tokens
	for i, rw := range res.rewards {
		data[i] = map[string]any{"index": i, "label": "LABEL_0", "probs": []float32{rw}, "num_classes": 1}
	}
	name := req.Model
	if name == "" {
		name = s.cur.Load().describe()
	}
	s.respond(w, res, map[string]any{
		"id": "classify-" + strconv.FormatInt(classifyID.Add(1), 10), "object": "list", "created": time.Now().Unix(),
		"model": name, "data": data, "usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens},
	})
	return nil
}

// scoreRequest is warm's POST /v1/score: records in the forms warm score
// reads (text, prompt/response, messages, input_ids).
type scoreRequest struct {
	Items       []json.RawMessage `json:"items"`
	Uncertainty bool              `json:"uncertainty"`
}

func (s *Server) score(w http.ResponseWriter, r *http.Request) error {
	var req scoreRequest
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	if req.Uncertainty && !s.cur.Load().canUncertain() {
		return badRequest("uncertainty needs the members (warm serve --warm DIR... or --ens DIR...)")
	}
	recs := make([]scorer.Record, len(req.Items))
	for i, raw := range req.Items {
		rec, err := scorer.ParseRecord(raw, fmt.Sprintf("items[%d]", i))
		if err != nil {
			return badRequest("%v", err)
		}
		recs[i] = rec
	}
	res, err := s.run(r, "items", len(recs), req.Uncertainty, func(m *scorer.Scorer, i int) ([]int32, error) { return m.Tokens(recs[i]) })
	if err != nil {
		return err
	}
	out := map[string]any{"rewards": res.rewards}
	if req.Uncertainty {
		out["std"] = res.std
	}
	s.respond(w, res, out)
	return nil
}

// compareRequest is warm's POST /v1/compare: preference pairs, each a
// prompt with a chosen and a rejected response (strings, or lists of turns
// for conversations).
type compareRequest struct {
	Pairs []struct {
		Prompt   json.RawMessage `json:"prompt"`
		Chosen   json.RawMessage `json:"chosen"`
		Rejected json.RawMessage `json:"rejected"`
	} `json:"pairs"`
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request) error {
	var req compareRequest
	if err := s.readJSON(w, r, &req); err != nil {
		return err
	}
	if 2*len(req.Pairs) > s.opts.MaxTexts {
		return badRequest("pairs has %d pairs, more than the server's limit of %d texts", len(req.Pairs), s.opts.MaxTexts)
	}
	recs := make([]scorer.Record, 0, 2*len(req.Pairs))
	for i, p := range req.Pairs {
		for _, side := range []struct {
			name string
			resp json.RawMessage
		}{{"chosen", p.Chosen}, {"rejected", p.Rejected}} {
			raw, _ := json.Marshal(map[string]json.RawMessage{"prompt": p.Prompt, "response": side.resp})
			rec, err := scorer.ParseRecord(raw, fmt.Sprintf("pairs[%d].%s", i, side.name))
			if err != nil {
				return badRequest("%v", err)
			}
			recs = append(recs, rec)
		}
	}
	res, err := s.run(r, "pairs", len(recs), false, func(m *scorer.Scorer, i int) ([]int32, error) { return m.Tokens(recs[i]) })
	if err != nil {
		return err
	}
	n := len(req.Pairs)
	chosen, rejected := make([]float32, n), make([]float32, n)
	margin, prob := make([]float64, n), make([]float64, n)
	for i := range n {
		chosen[i], rejected[i] = res.rewards[2*i], res.rewards[2*i+1]
		margin[i] = float64(chosen[i]) - float64(rejected[i])
		prob[i] = 1 / (1 + math.Exp(-margin[i])) // Bradley-Terry
	}
	s.respond(w, res, map[string]any{"chosen": chosen, "rejected": rejected, "margin": margin, "prob_chosen": prob})
	return nil
}

// model is GET /v1/model: what is served.
func (s *Server) model(w http.ResponseWriter, _ *http.Request) error {
	l := s.cur.Load()
	m := l.enc()
	writeJSON(w, http.StatusOK, map[string]any{
		"models": l.dirs, "members": len(l.members), "warm": l.warm != nil, "family": m.Family, "fingerprint": l.fingerprint,
		"max_len": m.Model.MaxLen(), "chat_template": m.Chat != nil, "tokenizer_fingerprint": m.Tok.Fingerprint(),
	})
	return nil
}

// adminReload is POST /admin/reload.
func (s *Server) adminReload(w http.ResponseWriter, _ *http.Request) error {
	fp, err := s.Reload()
	if err != nil {
		return &httpError{http.StatusConflict, err.Error()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"fingerprint": fp})
	return nil
}
