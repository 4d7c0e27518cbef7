package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/pipeline"
)

func init() { rootCmd.AddCommand(newSFTCmd()) }

func newSFTCmd() *cobra.Command {
	var o pipeline.SFTOptions
	var dropout float32
	def := pipeline.SFTConfig()
	cmd := &cobra.Command{
		Use:   "sft -o OUT --init BASE DATA",
		Short: "Supervised fine-tuning with snapshots (WARM's Baklava initialisations)",
		Long: `Fine-tune a base model on demonstrations with the next-token loss on response
tokens. DATA is prompt/completion JSONL, or a preference file whose original
chosen responses are the demonstrations. --save-at writes snapshots at chosen
steps into OUT.steps/step-NNNNNN: WARM's "Baklava" reward-model
initialisations.`,
		Example: `  warm sft -o runs/sft --init runs/base --save-at 200,400,600 --steps 600 data/sft.jsonl`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" || o.Init == "" {
				return errors.New("sft: -o OUT and --init BASE are required")
			}
			o.Data = args[0]
			if cmd.Flags().Changed("dropout") {
				o.Dropout = &dropout
			}
			p := newProgress()
			o.Progress, o.Log = p.update, p.logger()
			res, err := pipeline.SFT(cmd.Context(), o)
			p.finish()
			if err != nil {
				return err
			}
			fmt.Printf("sft model: %s (%d steps", o.Out, len(res.History))
			if n := len(res.History); n > 0 {
				fmt.Printf(", final loss %.4f", res.History[n-1].Loss)
			}
			fmt.Printf(", %s)\n", res.Wall.Round(1e9))
			for _, s := range res.Snapshots {
				fmt.Printf("  snapshot: %s\n", s)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Out, "out", "o", "", "output checkpoint directory")
	fs.BoolVar(&o.Replace, "force", false, "replace an existing output")
	fs.StringVar(&o.Init, "init", "", "checkpoint to fine-tune")
	fs.IntVar(&o.MaxLen, "max-len", 0, "maximum tokens per demonstration (default: the model's context)")
	fs.Float32Var(&dropout, "dropout", 0, "dropout probability (default: the checkpoint's)")
	fs.IntSliceVar(&o.SaveAt, "save-at", nil, "steps after which to save a snapshot")
	fs.StringVar(&o.SnapshotDir, "snapshot-dir", "", "directory of the snapshots (default OUT.steps)")
	addTrainFlags(fs, &o.Train, def, true)
	addResumeFlags(fs, &o.Resume)
	return cmd
}
