// Package synth generates warm's embedded default task: a synthetic
// "summarisation" task with a closed-form gold reward, deterministic from a
// seed, small enough that a tiny GPT (d=64..128, 2-4 layers, T<=96, a 1-2k
// BPE vocabulary) learns a useful reward model in minutes on a CPU. It is
// what `warm demo`, the experiments and RL use when no real data is given.
//
// # The world and the text format
//
// A fact is a clause "<name> <verb> the <object>" over 40 names, 20 verbs and
// 30 objects ("mara sold the boat"). A post states K = 3..5 facts with
// distinct names and objects, one sentence each, in the active or passive
// voice ("the boat was sold by mara."), sometimes opened by an adverb, with
// an optional opener and filler sentence that state nothing. Everything is
// lower case and fits on one line.
//
// Salience is a property of the verb: 8 verbs (sold, lost, stole, broke, won,
// burned, bought, crashed) make a fact salient, the 12 others (cleaned, saw,
// ...) minor. Every post has 1 or 2 salient facts and at least one minor one.
// Because salience is visible in the clause itself, a small model can learn
// it; the harder skill is checking a summary clause against the post.
//
// The format is fixed once and used everywhere (pairs, corpus, SFT, policy
// prompts):
//
//	prompt   = post + " TL;DR:"                 (PromptSuffix)
//	response = " mara sold the boat. tom lost the car."
//
// and the end of a response is the tokenizer's EOS. A corpus document is
// prompt + response on one line.
//
// # The gold reward
//
// [Gold] (and [Score], [Post.Score] for the breakdown) is defined on any
// pair of strings, so it can judge malformed policy samples: the prompt's
// facts are recovered by [ParsePost]; the response is split into clauses at
// periods, each clause must be exactly a fact statement. Reward =
// 2 x (fraction of salient facts covered) + 0.5 x (fraction of other facts
// covered) - 1 per hallucinated clause (a well-formed fact not in the post)
// - 0.5 per repeated clause - 0.5 per unparseable clause - 0.1 per word
// beyond a budget of 4 words per post fact, clipped to [-5, 2.5]. A summary
// stating every fact once scores 2.5, an empty one 0. The gold reward doubles
// as the "control reward" of best-of-N and RL.
//
// # Samplers and the spurious length feature
//
//   - [SampleID] (training distribution) draws a quality z in [0, 1]; better
//     summaries state more facts (each salient fact with probability
//     0.05+0.95z, each other one with 0.9z), worse ones carry the errors
//     (a hallucination with probability 0.6(1-z), which replaces a stated
//     fact, a repeat with 0.2(1-z), an unparseable clause with 0.1(1-z)).
//     So in training pairs longer is usually better: "longer wins" agrees
//     with the label on about 70-75% of pairs (about 76-80% of gold orders).
//   - [SampleConcise]: only salient facts. [SampleMinor]: only minor facts
//     (usually longer). [SampleRambling]: most facts plus one or two
//     hallucinations and repeats. [SamplePadded]: a clean summary and the
//     same one padded with repeats and maybe a hallucination.
//
// OOD pairs are 35% concise-vs-rambling, 35% salient-vs-minor, 15%
// clean-vs-padded and 15% in-distribution, so out of distribution the longer
// response wins only about 21% of the time: the length rule is reversed. The
// kinds grade what a reward model has learned. Length alone scores about
// 0.21 on OOD test; a bag-of-words linear reward trained on the train pairs
// (it can learn that salient verbs matter, not whether a clause is true)
// scores about 0.38 (0.69 on salient-vs-minor, under 0.1 on the kinds that
// need checking clauses against the post); the labels agree with the gold
// order on about 0.94. (Measured on the default task, seed 1.) A tiny
// transformer reward model trained from scratch (testdata/rm_curve.py: d=64,
// 2 layers, word tokens, batch 32) reached ID test 0.72 / OOD 0.28 after 250
// steps and 0.74 / 0.45 after 1000 steps (1.6 epochs), OOD gains coming
// first from salient-vs-minor pairs and then from concise-vs-rambling ones,
// so members trained differently land at different OOD accuracies. A reward
// model that learned "longer is better" fails OOD, and a policy optimised
// against it learns to ramble, which the gold reward's repeat,
// hallucination and length penalties catch (classic length hacking).
// [SplitStats] reports these fractions for every split; the tests assert
// them.
//
// # Labels
//
// A pair is two summaries of one post whose gold rewards differ by at least
// Config.MinGap. The label is a Bradley-Terry draw: the first summary is
// preferred with probability sigmoid(Beta x (gold1 - gold2)), the
// inconsistency of human labellers (with the default Beta = 2 about 11% of
// training labels disagree with the gold order). Config.CorruptRate then
// flips exactly that fraction of train labels with data.Corrupt.
//
// # Splits
//
// [Generate] draws, in this order and each from its own PCG stream of the
// seed: OOD test, OOD dev, ID test (one pair per post), held-out prompts,
// train (Config.PairsPerPost pairs per post), SFT demonstrations (over the
// train posts, [SampleGood]) and the pre-training corpus (fresh posts,
// SampleID summaries of mixed quality). No post (fact set) is used by two
// parts, so evaluation posts, policy prompts and corpus posts are disjoint
// from the train posts, and changing a later part's size leaves the earlier
// ones unchanged. [Task.WriteDir] writes it all as files the data package
// loads. The default task (20k train pairs, 4 MiB corpus) takes about 0.3 s.
package synth
