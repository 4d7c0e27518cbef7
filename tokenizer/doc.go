// Package tokenizer is warm's byte-level BPE tokenizer: GPT-2's scheme,
// trained on a text corpus, saved and loaded as a Hugging Face tokenizer.json.
//
// Pipeline. Encode cuts literal added tokens ("<|endoftext|>", "<|pad|>") out
// of the text, splits the rest with GPT-2's pre-tokenizer regex (PreTokenize;
// Hugging Face ByteLevel with add_prefix_space=false, use_regex=true), maps each
// piece's bytes to GPT-2's bytes_to_unicode characters ("Ġ" is the space) and
// applies the merges by rank. Decode is exact for any byte string; DecodeUTF8
// gives Hugging Face's output (invalid UTF-8 replaced by U+FFFD).
//
// Loaded tokenizers may also split with Llama-3's or Qwen2's pre-tokenizer
// regex (Llama3Pattern, Qwen2Pattern: a Split then a ByteLevel without regex,
// as those models ship), use model.ignore_merges (a pre-token that is in the
// vocabulary is one token) and carry a TemplateProcessing post-processor:
// EncodeWithSpecial adds its tokens (a BOS such as "<|begin_of_text|>"), as
// Hugging Face's add_special_tokens=True; Encode does not. Parse rejects, naming
// the field, whatever else would change the tokenization.
// testdata/gen_parity.mjs records Hugging Face's ids for small fixtures of
// both layouts, which TestParityGolden compares with exactly.
//
// Ids of a trained tokenizer: 0..255 are the bytes (id b is byte b),
// 256 is "<|endoftext|>" (end and beginning of a document), 257 is "<|pad|>"
// (padding; a reward model reads the last non-pad token, so pad differs from
// EOS), and merged tokens follow from 258 in merge order. These ids do not
// depend on the vocabulary size. A loaded tokenizer keeps its file's ids (GPT-2
// has "<|endoftext|>" at 50256 and no pad token): use EOS and Pad.
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
