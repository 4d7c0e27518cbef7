package main

import (
	"bytes"
	"errors"
	"testing"
)

func TestLineLogger(t *testing.T) {
	var b bytes.Buffer
	cleared := 0
	log := newLineLogger(&b, func() { cleared++ })
	log.Info("pretrain: validation", "loss", "2.7860", "dir", "a b")
	log.With("member", "m0").WithGroup("g").Warn("slow", "n", 3)
	log.Error("failed", "err", errors.New("no such file"))
	log.Debug("hidden")
	want := "pretrain: validation loss=2.7860 dir=\"a b\"\n" +
		"warn: slow member=m0 g.n=3\n" +
		"error: failed err=\"no such file\"\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	if cleared != 3 {
		t.Fatalf("the progress bar was cleared %d times, want once a line", cleared)
	}
}
