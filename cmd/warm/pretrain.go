package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/warm-rm/warm/pipeline"
)

func init() { rootCmd.AddCommand(newPretrainCmd()) }

func newPretrainCmd() *cobra.Command {
	var o pipeline.PretrainOptions
	var dropout float32
	def := pipeline.PretrainConfig()
	cmd := &cobra.Command{
		Use:   "pretrain -o OUT CORPUS...",
		Short: "Pre-train a base GPT-2 language model on text files",
		Long: `Pre-train the shared base model of a WARM sweep: a GPT-2 of the given shape,
trained from a random initialisation with the next-token loss on text files
(one document a line). Without --tokenizer, a byte-level BPE is trained on the
corpus first. The output is a Hugging Face GPT-2 directory (role "base").

Training state is checkpointed every --save-every steps and on Ctrl-C into
OUT.state; --resume continues from it to the same final weights.`,
		Example: `  warm pretrain -o runs/base --d 256 --layers 4 --heads 4 --ctx 64 \
      --steps 4000 ../shared/data/corpus/*.txt`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Out == "" {
				return errors.New("pretrain: -o OUT is required")
			}
			o.Corpus = args
			o.Dropout = dropout
			p := newProgress()
			o.Progress, o.Log = p.update, p.logger()
			res, err := pipeline.Pretrain(cmd.Context(), o)
			p.finish()
			if err != nil {
				return err
			}
			fmt.Printf("base model: %s\n  %d steps, %.2f epochs of %d tokens", o.Out, len(res.History), res.Epochs, res.Tokens)
			if n := len(res.History); n > 0 {
				fmt.Printf(", final train loss %.4f", res.History[n-1].Loss)
			}
			if o.ValFrac > 0 {
				fmt.Printf(", validation loss %.4f", res.ValLoss)
			}
			fmt.Printf(", %s\n", res.Wall.Round(1e9))
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.Out, "out", "o", "", "output checkpoint directory")
	fs.BoolVar(&o.Replace, "force", false, "replace an existing output")
	fs.StringVar(&o.Tokenizer, "tokenizer", "", "tokenizer.json to use (default: train one on the corpus)")
	fs.IntVar(&o.VocabSize, "vocab-size", 4096, "vocabulary of the trained tokenizer")
	fs.IntVar(&o.Shape.D, "d", 128, "model width n_embd")
	fs.IntVar(&o.Shape.Layers, "layers", 2, "transformer blocks")
	fs.IntVar(&o.Shape.Heads, "heads", 4, "attention heads")
	fs.IntVar(&o.Shape.Context, "ctx", 64, "context length in tokens (n_positions)")
	fs.Float32Var(&dropout, "dropout", 0, "dropout probability (embedding, attention, residual)")
	fs.Uint64Var(&o.InitSeed, "init-seed", 1, "seed of the weight initialisation")
	fs.Float64Var(&o.ValFrac, "val-frac", 0.01, "fraction of the corpus held out for a validation loss")
	addTrainFlags(fs, &o.Train, def, true)
	addResumeFlags(fs, &o.Resume)
	return cmd
}
