// Command warm trains, merges, evaluates and serves weight-averaged reward
// models (WARM, Ramé et al. 2024). Each subcommand is a thin shell over one of
// warm's library packages; run `warm help` for the list.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/internal/atomicdir"
)

// rootCmd is the `warm` command; subcommands add themselves to it in init
// functions, one file each.
var rootCmd = &cobra.Command{
	Use:   "warm",
	Short: "Weight Averaged Reward Models: train, merge, evaluate reward models",
	Long: `warm fine-tunes several reward models from one shared pre-trained base with
diverse hyper-parameters, averages their weights (WARM), and evaluates the
merge against the prediction ensemble and the individual members.

Start with 'warm demo': it runs the whole pipeline on an embedded synthetic
task, on a CPU, in a few minutes.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	// First Ctrl-C cancels the context so long jobs can checkpoint and stop;
	// a second one kills the process.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := rootCmd.ExecuteContext(ctx)
	stopProfile()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "warm: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "warm:", err)
		os.Exit(1)
	}
}

// stderrLog is the logger of commands without a progress bar: timestamped
// lines on stderr.
var stderrLog = newStampedLogger(os.Stderr)

// writeJSONFile writes v as indented JSON to path, atomically.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicdir.WriteFile(path, append(b, '\n'))
}
