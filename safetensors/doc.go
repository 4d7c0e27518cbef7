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
// Checkpoints split into shards are read through a Set (OpenSet), which
// gives one view of the tensors of a single file or of a Hugging Face
// sharded checkpoint (model-0000i-of-0000N.safetensors plus
// model.safetensors.index.json). The index is validated as strictly as the
// headers (ParseIndex, and OpenSet cross-checks it against every shard).
//
// Fingerprinter computes warm's content fingerprint ("warm.fingerprint"):
// a SHA-256 tree over tensor names, dtypes, shapes and raw bytes, hashed in
// 1 MiB blocks so it can be computed in parallel and while streaming.
// Set.HeaderIdentity is the cheap, weaker identity used for checkpoints made
// by other tools, which carry no fingerprint.
//
// Writing is atomic: a Writer streams tensors into a temporary file in the
// destination directory and renames it into place on Commit, so a crash or
// an error leaves either no file or the previous one. Tensors can be written
// in pieces (Writer.WritePart), and metadata known only at the end (a
// fingerprint) can replace a same-length placeholder (Writer.SetMetadata).
//
// warm implements the format itself instead of using a third-party Go
// package because it needs all of: strict validation with named errors (the
// merge refuses inputs before reading data), streaming writes of tensors one
// at a time (peak memory independent of model size), F16/BF16 conversion,
// and a parser small enough to fuzz.
package safetensors
