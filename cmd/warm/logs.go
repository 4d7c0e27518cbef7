package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// lineHandler is the CLI's slog handler: one line a record, "message
// key=value ...", warnings and errors prefixed with their level, written
// after before() (which clears a progress bar). slog's TextHandler would
// quote every message and prefix time and level, which reads poorly
// between progress lines; this keeps the notes as plain as they were.
type lineHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	before func()
	attrs  []slog.Attr
	group  string
	stamp  bool // prefix each line with the record's time (15:04:05)
}

func newLineLogger(w io.Writer, before func()) *slog.Logger {
	return slog.New(&lineHandler{mu: &sync.Mutex{}, w: w, before: before})
}

// newStampedLogger is newLineLogger with each line timestamped, for long
// commands that print no progress bar.
func newStampedLogger(w io.Writer) *slog.Logger {
	return slog.New(&lineHandler{mu: &sync.Mutex{}, w: w, stamp: true})
}

// Enabled implements slog.Handler: info and above.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

// Handle implements slog.Handler.
func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if h.stamp {
		b.WriteString(r.Time.Format("15:04:05") + " ")
	}
	if r.Level >= slog.LevelWarn {
		b.WriteString(strings.ToLower(r.Level.String()) + ": ")
	}
	b.WriteString(r.Message)
	for _, a := range h.attrs {
		writeAttr(&b, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.before != nil {
		h.before()
	}
	_, err := io.WriteString(h.w, b.String())
	return err
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			writeAttr(b, key, g)
		}
		return
	}
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		v = fmt.Sprintf("%q", v)
	}
	fmt.Fprintf(b, " %s=%s", key, v)
}

// WithAttrs implements slog.Handler.
func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), qualify(h.group, attrs)...)
	return &c
}

// WithGroup implements slog.Handler.
func (h *lineHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func qualify(group string, attrs []slog.Attr) []slog.Attr {
	if group == "" {
		return attrs
	}
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Attr{Key: group + "." + a.Key, Value: a.Value}
	}
	return out
}
