// Package model is warm's GPT-2 engine: the Hugging Face GPT-2 architecture
// (learned token and position embeddings, pre-LayerNorm blocks with causal
// multi-head self-attention and a GELU MLP, final LayerNorm, LM head tied to
// the token embedding) plus the GPT2ForSequenceClassification reward head,
// with forward and backward passes written by hand over flat float32 buffers
// in the style of llm.c's train_gpt2.c.
//
// # Parameters
//
// All parameters live in one flat []float32 (Model.Flat) and their gradients
// in another of the same layout (Model.GradFlat). Params returns named views
// with Hugging Face names and shapes (Conv1D weights stored [in, out]), so a
// checkpoint written from them is a valid GPT-2 safetensors file.
//
// # Passes
//
// A forward pass (LMForward, RewardForward) keeps the activations needed by
// the matching backward pass (LMBackward, RewardBackward), which adds the
// parameter gradients into GradFlat. Activation memory is allocated on first
// use for a batch shape and reused (grown on demand): the hot path does not
// allocate. Slices returned by the passes are views into that workspace and
// are valid until the next pass.
//
// Sequences in a batch are right-padded to T tokens and carry a length.
// Because attention is causal, tokens after a sequence's end never influence
// the positions before it, so the engine packs the batch: it computes only the
// lengths[b] real positions of each sequence, and in the last block only the
// positions a head reads (the last token for the reward head, the rows from
// the first to the last non-zero loss weight for the LM loss): keys and
// values at every position, queries, attention, MLP and final LayerNorm at
// those rows only. The results equal Hugging Face's on the padded batch (the
// tests check this against a float64 reference run on every padded position,
// and against PyTorch).
//
// # Kernels
//
// Matrix products go through kernels.Gemm (parallel) and kernels.GemmSerial
// (inside the per-(sequence, head) attention tasks); everything else is
// parallel over rows with kernels.ParallelFor. The two costliest
// element-wise functions, GELU (with its tanh) and the softmax exponential,
// have AVX2+FMA versions (simd_amd64.s) chosen at run time, with portable Go
// fallbacks (build tag purego forces them).
//
// A model that only runs inference from now on (a server, warm score, warm
// eval) can call PackForInference: the weight matrices of the blocks are
// laid out once in the GEMM kernel's panels (kernels.PackB) instead of on
// every product, with the same outputs bit for bit, for the memory of
// those weights a second time. Anything that hands the weights out for
// writing drops the packed copy, the backward passes refuse a packed
// model, and a pass that finds the weights changed under it fails (see
// packed.go).
//
// # Generation
//
// NewKVCache returns a cache for incremental decoding of a batch whose
// prompts have different lengths: prompts are passed right-padded, and each
// sequence keeps its own length and positions (the cache is ragged, not
// left-padded), so its logits equal those of the sequence run alone.
//
// # Determinism
//
// Outputs and gradients are bit-identical for the same inputs, weights and
// dropout seed, whatever kernels.Threads() is: every reduction over rows uses
// a fixed partition into chunks summed in a fixed order, and dropout masks
// come from a counter-based generator keyed by (seed, layer, site, row), not
// from a shared stream. (They may differ in the last bits between CPUs with
// and without AVX2, whose kernels round differently.)
package model
