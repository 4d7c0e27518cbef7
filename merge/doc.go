// Package merge averages the weights of reward models: the operation at the
// heart of WARM (Ramé et al. 2024). It works on warm's own checkpoints and on
// Hugging Face safetensors checkpoints made elsewhere (GPT-2, Llama/Qwen
// ...ForSequenceClassification with score.weight, ...), single-file or
// sharded.
//
// # Methods
//
//   - uniform (the WARM average, the default): every member weighs 1/M;
//   - weighted (Options.Weights): weights normalised to sum to 1;
//   - interpolate (Options.Lambda): (1-λ)·first + λ·second, for linear mode
//     connectivity sweeps; λ=0 and λ=1 reproduce the members bit for bit;
//   - running (Options.Into): adds k members to an existing uniform merge of
//     n members, (n·existing + Σ new)/(n+k), using the "warm.member_count"
//     stored in its metadata; equal to the one-shot merge of all n+k members
//     within float rounding.
//
// Greedy soups (add a member only if a score improves) compose from these:
// score a candidate made with Into (files) or AverageFloat32 (in memory),
// keep it or drop it.
//
// # Strictness
//
// NewPlan (and Check) refuse a merge before any tensor data is read when the
// members differ in tensor names, shapes or dtypes (float dtypes may differ
// with AllowMixedDTypes), in config.json fields that affect the architecture
// (DefaultIgnoredConfigFields lists those that do not), in tokenizer files
// (byte for byte), or in "warm.base_fingerprint" (IgnoreBaseFingerprint
// overrides, for checkpoints from other tools). Every error names the
// member, the tensor or file, and the difference. While merging, a NaN or
// infinity in any member (weight 0 included), an average that overflows the
// output dtype, or an integer/bool tensor that differs between members
// aborts the merge, naming the tensor, the member and the element.
//
// # Arithmetic
//
// Float tensors (F32, F16, BF16, F64) are converted exactly and summed in
// float64 (AccumulateF64, the default) or float32 (AccumulateF32): the sum
// starts from the first term with a non-zero weight, adds the others in
// member order, each product rounded before it is added (no fused
// multiply-add, so every platform and the AVX2 kernels give the same bits),
// then rounds to float32 and to the output dtype, to nearest even. Integer
// and bool tensors (position-id buffers, masks) must be identical and are
// copied. The result is bit-identical whatever the number of threads, and
// matches an independent numpy implementation (testdata/numpy_merge.py)
// bit for bit.
//
// # Output
//
// Run writes a checkpoint directory (or a single .safetensors file) with the
// layout of the first member (or of Into) unless ShardSize asks otherwise,
// the config and tokenizer files of the first member (torch_dtype updated
// to the output dtype), and this __metadata__ in every shard:
//
//	format             "pt"
//	warm.role          "warm"
//	warm.fingerprint   content fingerprint of the output (safetensors.Fingerprinter),
//	                   computed while streaming when Options.Fingerprint asks
//	                   (by default for outputs up to 256 MiB)
//	warm.base_fingerprint  the members' common base fingerprint, when they share one
//	warm.merge         JSON Info: method, weights, members [{path, fingerprint, count}],
//	                   accumulation, output dtype, warm version, previous merge
//	warm.member_count  number of members averaged
//
// A member without "warm.fingerprint" is identified by its header identity
// (safetensors.Set.HeaderIdentity: a hash of headers and file sizes), which
// is weaker: it does not see the weights.
//
// The output appears atomically: everything is written in a hidden temporary
// directory beside it and published with one rename (renameat2 NOREPLACE, or
// EXCHANGE when replacing), so an error, a cancelled context or kill -9 at
// any moment leaves no output or the previous one. A later merge into the
// same path removes temporary directories left by killed merges.
//
// # Streaming
//
// Tensors are processed in name order, in chunks of one fingerprint block
// (1 MiB of output); worker goroutines read each chunk of every member
// (pread into reused buffers), sum it (AVX2 where available) and hash it,
// and one goroutine writes the chunks in order. Peak memory is about
// threads × members × 1 MiB plus a few output chunks, whatever the model
// size.
package merge
