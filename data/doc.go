// Package data loads preference pairs and text corpora, splits them, corrupts
// labels for memorisation studies, and turns them into token batches for
// reward-model, language-model and SFT training.
//
// # Records
//
// A [Pair] is one preference judgement: a prompt and two responses, with the
// preferred one (as labelled) in Chosen. An [Example] is a prompt with one
// response (SFT data) or without one (prompts for policy sampling). Every
// record remembers where it came from (Source, "file:line") so an error or an
// odd score can be traced back to the input.
//
// # Loaders
//
//   - TRL-style JSONL ([ReadTRL], [LoadPairs]): explicit-prompt
//     {"prompt","chosen","rejected"} and implicit-prompt {"chosen","rejected"}
//     records, with plain-text or conversational (list of {"role","content"})
//     values; HH-RLHF files are implicit-prompt TRL files. Gzip input is
//     detected from its magic bytes, whatever the file name.
//   - ETHICS utilitarianism CSV ([ReadETHICS]): two columns, the first
//     preferred; no header.
//   - Prompt/completion JSONL ([ReadExamples]) for SFT data and prompt lists.
//   - Plain text, one document per line ([ReadText], [EachText]).
//
// Malformed input is an error naming the file and line. With
// [LoadOptions].SkipBad a loader skips bad records instead and reports how
// many it skipped (and the first few reasons) in [LoadStats]; nothing is ever
// dropped without being counted.
//
// # Text conventions
//
// The text a model sees for a response is Prompt + Response, concatenated
// verbatim. Responses therefore carry their own leading separator (" Sure",
// "\n\nAssistant: ..." continues as " Sure"), as in TRL and HH-RLHF. See
// [ReadTRL] for how implicit prompts are split and how conversations are
// rendered to text.
//
// # Tokens
//
// Tokenisation goes through the small [Encoder] interface so this package does
// not depend on a particular tokenizer. See [TokenizePairs], [MakePairBatch],
// [PackTokens], [MakeLMBatch], [TokenizeSFT] and [MakeSFTBatch] for the exact
// sequence layouts, truncation rule and batch shapes, and [EpochOrder] for the
// deterministic data order.
package data
