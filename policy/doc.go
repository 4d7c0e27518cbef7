// Package policy optimises a language-model policy against reward models and
// measures reward hacking with a control reward: best-of-N (BoN),
// policy-gradient RL with a KL penalty, and win rates between policies. It is the
// last stage of WARM (Ramé et al. 2024): a policy optimised against the weight
// average of M reward models (WARM) should be hacked later than one optimised
// against a single reward model.
//
// # Rewards
//
// Reward is a small interface: it scores a Batch of (prompt, response) items
// (token ids and texts) and returns one float64 each. Implementations:
//
//   - RM: one reward-model checkpoint (GPT2ForSequenceClassification on
//     prompt ++ response ++ EOS, the layout it was trained on).
//   - Ensemble: ENS, the mean of its members' rewards.
//   - WARM: an RM whose weights are the uniform average of the top M members
//     of a sweep (merge.AverageFloat32, the arithmetic of `warm merge`),
//     built by Rewards.WARM.
//   - Gold: the synthetic task's closed-form gold reward on the decoded texts,
//     the control reward of that task. On ETHICS the control reward is a
//     larger RM trained on all clean labels (an RM given by path).
//
// Rewards opens a sweep manifest, ranks its members (by the experiment's
// results.json, else by accuracy on the ood_dev set) and parses reward specs:
// "best", "member:K", "ens:M", "warm:M", "rm:PATH", "fluency:PATH", "gold".
//
// Rewards of different models live on different scales. Best-of-N needs only
// the argmax per prompt; RL normalises the proxy reward by its mean and
// standard deviation over the SFT policy's evaluation samples, so that the KL
// weight α means the same for a single RM, ENS and WARM.
//
// # Best-of-N
//
// BestOfN draws MaxN samples per prompt from the SFT policy once, scores them
// with every proxy and the control reward (a member inside an ensemble is
// scored once), and estimates for N = 1, 2, 4, ..., MaxN the expected control
// and proxy reward of the best-of-N pick with the unbiased estimator over all
// MaxN samples (the sample of rank i among n is the best of a random N-subset
// with probability C(i, N−1)/C(n, N)), against KL_BoN = log N − (N−1)/N.
// Win rates split the MaxN samples into MaxN/N disjoint draws: the pick of one
// reward against the pick of another on the same draw, and against
// independent reference samples (a random SFT sample), judged by the control
// reward with ties counted one half.
//
// # RL
//
// RL is REINFORCE with a leave-one-out baseline (RLOO, Kool et al. 2019;
// Ahmadian et al. 2024): each step samples K responses for each of P prompts,
// computes the penalised reward r̃ = (r − μ)/σ − α·KL − β·log π (KL = Σ_t log
// π − log π_SFT over the response tokens, the per-sample estimate of KL(π ‖
// π_SFT); β an optional entropy bonus), and uses as advantage r̃_i minus the
// mean r̃ of the other K−1 samples of the same prompt. The leave-one-out
// baseline is unbiased, needs no value head (a value head would need its own
// training and, on a 0.5M-parameter policy, its own tuning), and with K ≥ 4 it
// removes the per-prompt difficulty that dominates the variance on this
// task. The gradient −(1/B) Σ A_i ∇ log π(y_i) is computed by the engine's
// LM loss with per-token weights A_i. The optimiser loop is train.Runner
// (AdamW, clipping, schedules, atomic training-state checkpoints): an
// interrupted run resumes bit-identically. Every SaveEvery steps the policy
// is saved and evaluated on held-out prompts (proxy and control reward, KL,
// entropy, length), the statistics that draw control reward against KL.
//
// # Determinism
//
// Sampling is keyed by (seed, prompt, sample) (package sample); RL step s
// samples with a seed derived from (Config.Train.Seed, s) and takes its
// prompts from per-epoch permutations keyed by Config.Train.DataSeed; the
// evaluations use one fixed seed. So every result is a function of the
// inputs and seeds, and a resumed run ends with the same bits.
package policy
