// Package eval scores preference pairs with reward models and summarises
// the result: pairwise accuracy (a tie is not correct, and ties are
// reported on their own), margins and reward statistics. The WARM
// experiment's comparisons (weight average against the prediction ensemble
// and the members) build on these primitives.
package eval
