package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasHelp walks the command tree: every command builds
// (no flag clashes), and --help prints its usage.
func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		n++
		if c.Short == "" && c != rootCmd && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("command %q has no short description", c.CommandPath())
		}
		var out bytes.Buffer
		c.SetOut(&out)
		err := c.Help()
		c.SetOut(nil) // other tests share the command tree
		if err != nil {
			t.Errorf("%s --help: %v", c.CommandPath(), err)
		}
		if !strings.Contains(out.String(), "Usage:") {
			t.Errorf("%s --help printed no usage", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(rootCmd)
	for _, name := range []string{"demo", "pretrain", "sft", "train", "eval", "generate", "merge", "sweep", "report", "experiment", "data", "tokenizer"} {
		if c, _, err := rootCmd.Find([]string{name}); err != nil || c.Name() != name {
			t.Errorf("no command %q", name)
		}
	}
}
