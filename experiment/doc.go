// Package experiment runs and reports WARM's comparisons on a trained
// sweep: each member, the weight average of the top M members (WA, the WARM
// model) and the prediction ensemble of the same members (ENS), on clean
// training pairs, on corrupted training pairs scored against the flipped
// label (memorisation), in distribution and out of distribution; the
// inference cost of WA against ENS; and linear mode connectivity (LMC)
// between members of increasing diversity. Every difference comes with the
// standard error of its paired per-example differences, so it can be told
// apart from noise.
package experiment
