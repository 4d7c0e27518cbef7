package synth

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/data"
)

// Files written by [Task.WriteDir].
const (
	FileTrain   = "train.jsonl"
	FileTest    = "test.jsonl"
	FileOODDev  = "ood_dev.jsonl"
	FileOODTest = "ood_test.jsonl"
	FileSFT     = "sft.jsonl"
	FilePrompts = "prompts.jsonl"
	FileCorpus  = "corpus.txt"
	FileTask    = "task.json"
)

// pairRecord is one line of a pair file: TRL explicit-prompt JSONL plus
// informative fields the loaders ignore (except "flipped").
type pairRecord struct {
	ID           int     `json:"id"`
	Prompt       string  `json:"prompt"`
	Chosen       string  `json:"chosen"`
	Rejected     string  `json:"rejected"`
	GoldChosen   float64 `json:"gold_chosen"`
	GoldRejected float64 `json:"gold_rejected"`
	Kind         string  `json:"kind,omitempty"`
	Flipped      bool    `json:"flipped,omitempty"`
}

// exampleRecord is one line of sft.jsonl or prompts.jsonl (TRL
// prompt-completion JSONL).
type exampleRecord struct {
	ID         int      `json:"id"`
	Prompt     string   `json:"prompt"`
	Completion *string  `json:"completion,omitempty"`
	Gold       *float64 `json:"gold,omitempty"`
}

// taskRecord is task.json: what generated the directory and its statistics.
type taskRecord struct {
	Generator string            `json:"generator"`
	Format    map[string]string `json:"format"`
	Config    Config            `json:"config"`
	Stats     []SplitStats      `json:"stats"`
}

// WriteDir writes the task to dir (created if needed) as files the data
// package loads:
//
//   - train.jsonl, test.jsonl, ood_dev.jsonl, ood_test.jsonl: TRL
//     explicit-prompt preference JSONL, {"id", "prompt", "chosen",
//     "rejected", "gold_chosen", "gold_rejected", "kind", "flipped"} (gold
//     rewards of the responses as written; "flipped" only on corrupted
//     pairs, whose "chosen" is the corrupted label's choice);
//   - sft.jsonl: {"id", "prompt", "completion", "gold"};
//   - prompts.jsonl: {"id", "prompt"}, held-out prompts for policy sampling;
//   - corpus.txt: pre-training text, one document a line;
//   - task.json: the config, the file formats and the split statistics.
//
// Every file is first written in full to a temporary file in dir; only when
// all are written are they renamed into place, so an error never leaves a
// half-written file (nor, short of a failing rename, a half-written task).
// The bytes are a deterministic function of the task.
func (t *Task) WriteDir(dir string) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, s := range t.Splits() {
		b, err := encodePairs(*s)
		if err != nil {
			return err
		}
		files = append(files, file{s.Name + ".jsonl", b})
	}
	sft, err := encodeExamples(t.SFT, true)
	if err != nil {
		return err
	}
	prompts, err := encodeExamples(t.Prompts, false)
	if err != nil {
		return err
	}
	var corpus bytes.Buffer
	for _, d := range t.Corpus {
		corpus.WriteString(d)
		corpus.WriteByte('\n')
	}
	meta, err := json.MarshalIndent(taskRecord{
		Generator: "warm data/synth",
		Format: map[string]string{
			"prompt":   "post + \"" + PromptSuffix + "\"",
			"response": "\" clause. clause.\" (each clause \"<name> <verb> the <object>\"), ended by the tokenizer's EOS",
			"gold":     "synth.Gold(prompt, response)",
		},
		Config: t.Config,
		Stats:  t.Stats(),
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	files = append(files, file{FileSFT, sft}, file{FilePrompts, prompts}, file{FileCorpus, corpus.Bytes()}, file{FileTask, append(meta, '\n')})

	var temps []string
	defer func() {
		for _, tmp := range temps {
			os.Remove(tmp) // no-op for renamed files
		}
	}()
	for _, f := range files {
		tmp, err := writeTemp(dir, f.name, f.data)
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(temps[i], filepath.Join(dir, f.name)); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	return nil
}

// writeTemp writes data to a new temporary file in dir and syncs it.
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	_, werr := f.Write(data)
	merr := f.Chmod(0o644) // CreateTemp makes 0600 files; these are ordinary outputs
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, merr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("synth: writing %s: %w", filepath.Join(dir, name), err)
	}
	return f.Name(), nil
}

// jsonLines encodes records one per line without HTML escaping.
func jsonLines[T any](recs []T) ([]byte, error) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodePairs(s Split) ([]byte, error) {
	recs := make([]pairRecord, len(s.Pairs))
	var post Post
	for i, p := range s.Pairs {
		if i == 0 || p.Prompt != s.Pairs[i-1].Prompt {
			post = ParsePost(p.Prompt)
		}
		recs[i] = pairRecord{
			ID: p.ID, Prompt: p.Prompt, Chosen: p.Chosen, Rejected: p.Rejected,
			GoldChosen: post.Score(p.Chosen).Reward, GoldRejected: post.Score(p.Rejected).Reward,
			Flipped: p.Flipped,
		}
		if i < len(s.Kinds) {
			recs[i].Kind = s.Kinds[i]
		}
	}
	return jsonLines(recs)
}

func encodeExamples(ex []data.Example, withCompletion bool) ([]byte, error) {
	recs := make([]exampleRecord, len(ex))
	for i, e := range ex {
		recs[i] = exampleRecord{ID: e.ID, Prompt: e.Prompt}
		if withCompletion {
			c := e.Response
			g := Gold(e.Prompt, e.Response)
			recs[i].Completion, recs[i].Gold = &c, &g
		}
	}
	return jsonLines(recs)
}
