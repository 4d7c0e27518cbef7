// Package safetensors reads and writes the Hugging Face safetensors format:
// an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape, data_offsets) plus an optional "__metadata__" map of
// strings, then the raw little-endian tensor bytes.
//
// Reading is strict. ParseHeader validates the whole header before any tensor
// byte is touched: bounded header size, well-formed JSON with no duplicate
// keys, known dtypes, non-negative shapes, byte lengths equal to
// elements × dtype size (overflow-checked), and data offsets that tile the
// data section exactly (contiguous, no overlap, no gap, no byte past the end
// of the file). Every error names the file and, where there is one, the
// tensor.
//
// Writing is atomic: a Writer streams tensors into a temporary file in the
// destination directory and renames it into place on Commit, so a crash or
// an error leaves either no file or the previous one.
//
// warm implements the format itself instead of using a third-party Go
// package because it needs all of: strict validation with named errors (the
// merge refuses inputs before reading data), streaming writes of tensors one
// at a time (peak memory independent of model size), F16/BF16 conversion,
// and a parser small enough to fuzz.
package safetensors
