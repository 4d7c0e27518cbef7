// Package tokenizer is warm's BPE tokenizer: GPT-2's byte-level scheme,
// trained on a text corpus, saved and loaded as a Hugging Face tokenizer.json,
// and the tokenizer.json files of the Llama family (byte-level for Llama-3 and
// Qwen2, SentencePiece-style for Llama-2, Mistral and Gemma) loaded to
// encode exactly as Hugging Face does.
//
// Pipeline. Encode cuts literal added tokens ("<|endoftext|>", "<|pad|>") out
// of the text, splits the rest with GPT-2's pre-tokenizer regex (PreTokenize;
// Hugging Face ByteLevel with add_prefix_space=false, use_regex=true), maps each
// piece's bytes to GPT-2's bytes_to_unicode characters ("Ġ" is the space) and
// applies the merges by rank. Decode is exact for any byte string; DecodeUTF8
// gives Hugging Face's output (invalid UTF-8 replaced by U+FFFD).
//
// Loaded tokenizers may also split with Llama-3's, Qwen2's or Mistral
// Tekken's pre-tokenizer regex (Llama3Pattern, Qwen2Pattern, TekkenPattern:
// a Split then a ByteLevel without regex, as those models ship), use model.ignore_merges (a pre-token that is in the
// vocabulary is one token), normalize with NFC (Qwen2), Prepend or Replace,
// and carry a TemplateProcessing post-processor: EncodeWithSpecial adds its
// tokens (a BOS such as "<|begin_of_text|>" or "<s>"), as Hugging Face's
// add_special_tokens=True; Encode does not.
//
// SentencePiece-style BPE (Llama-2, Mistral, Gemma; spm.go). The BPE works on
// the characters of the normalized text, with spaces as "▁" (a Prepend and
// Replace normalizer, or a Metaspace pre-tokenizer with prepend_scheme
// always, first or never), and a character outside the vocabulary becomes the
// "<0xXX>" tokens of its UTF-8 bytes (byte_fallback) or the unknown token
// (fuse_unk). Decoding runs the file's decoder chain (Replace, ByteFallback,
// Fuse, Strip, Metaspace). Every rule follows the Rust tokenizers source;
// docs/TOKENIZER-NOTES.md lists where its JS port differs. TokenToID gives the
// ids of the BOS, EOS and pad strings a model's configuration names.
//
// Parse rejects, naming the field, whatever else would change the
// tokenization. testdata/gen_parity.mjs records Hugging Face's ids and
// decodes for small fixtures of every layout (gen_spm_fixtures.mjs builds
// the SentencePiece-style ones), which TestParityGolden compares with
// exactly.
//
// Ids of a trained tokenizer: 0..255 are the bytes (id b is byte b),
// 256 is "<|endoftext|>" (end and beginning of a document), 257 is "<|pad|>"
// (padding; a reward model reads the last non-pad token, so pad differs from
// EOS), and merged tokens follow from 258 in merge order. These ids do not
// depend on the vocabulary size. A loaded tokenizer keeps its file's ids (GPT-2
// has "<|endoftext|>" at 50256 and no pad token): use EOS and Pad, or
// TokenToID for other names ("<s>", "</s>", "<eos>").
//
// Special tokens in input text: Encode treats the literal strings as the
// special tokens, as Hugging Face does by default; EncodeOrdinary does not, for
// untrusted text. Train cuts them out of the corpus, so they never take part in
// merges.
//
// Training (Train, TrainFiles) counts pre-token frequencies once in parallel,
// then runs the standard incremental BPE loop (pair counts, per-pair word
// index, max-heap with lazy updates); ties break on the pair's bytes, so
// training is deterministic.
//
// docs/TOKENIZER-NOTES.md says why warm has its own tokenizer rather than a
// library's.
package tokenizer
