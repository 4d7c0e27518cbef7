package merge

import (
	"context"
	"fmt"
	"math"

	"github.com/warm-rm/warm/safetensors"
)

// Accumulation is the precision members are summed in.
type Accumulation string

const (
	// AccumulateF64 sums in float64 (the default). Every member value
	// (F32, F16 or BF16) converts to float64 exactly and each weighted term
	// is rounded once to a 53-bit mantissa, so the sum's error is far below
	// float32 resolution (unless the terms cancel to almost nothing) and the
	// result is in practice the correctly rounded average whatever the
	// number of members; a running update then agrees with a one-shot merge
	// to within one float32 rounding. Measured as fast as float32 here: the
	// merge is limited by copying and I/O, not arithmetic.
	AccumulateF64 Accumulation = "F64"
	// AccumulateF32 sums in float32, as tools that average in the weights'
	// own precision do. Each addition rounds to 24 bits, so the error grows
	// with the number of members. Offered for comparison with such tools.
	AccumulateF32 Accumulation = "F32"
)

// Method is how a merge weighs its members, spelled as recorded in the
// "warm.merge" metadata and in Result's JSON.
type Method string

// The merge methods.
const (
	// MethodUniform is the WARM average: every member weighs 1/M.
	MethodUniform Method = "uniform"
	// MethodWeighted uses the given weights, normalised to sum to 1.
	MethodWeighted Method = "weighted"
	// MethodInterpolate is (1-λ)·first + λ·second, for linear mode
	// connectivity sweeps.
	MethodInterpolate Method = "interpolate"
	// MethodRunning adds members to an existing uniform merge of n members:
	// (n·existing + Σ new) / (n + k). The result is again a uniform average.
	MethodRunning Method = "running"
)

// ParseMethod returns the Method spelled s: "uniform", "weighted",
// "interpolate" or "running".
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MethodUniform, MethodWeighted, MethodInterpolate, MethodRunning:
		return m, nil
	}
	return "", fmt.Errorf("unknown merge method %q (want uniform, weighted, interpolate or running)", s)
}

// FingerprintMode says when a merge hashes its output.
type FingerprintMode string

const (
	// FingerprintAuto hashes outputs of at most AutoFingerprintBytes: every
	// warm-sized model gets its fingerprint for a negligible cost, while a
	// multi-GiB merge is not slowed down by it (SHA-256 of the output costs
	// about as much as the rest of the merge; see docs/MERGE.md).
	FingerprintAuto FingerprintMode = "auto"
	// FingerprintAlways always hashes the output.
	FingerprintAlways FingerprintMode = "always"
	// FingerprintNever never does: the output carries no
	// "warm.fingerprint" and is identified downstream by its header
	// identity, or recomputed with safetensors.Set.Fingerprint.
	FingerprintNever FingerprintMode = "never"
)

// AutoFingerprintBytes is the largest output FingerprintAuto hashes.
const AutoFingerprintBytes = 256 << 20

// Options controls a merge. The zero value is the WARM uniform average with
// float64 accumulation, output dtype equal to the members', and the layout
// (single file or shards) of the first member.
type Options struct {
	// Weights are per-member weights, normalised to sum to 1. They must be
	// finite and non-negative with a positive sum. A member with weight 0
	// is still checked (names, shapes, finiteness) but adds nothing. Nil
	// means uniform.
	Weights []float64
	// Lambda, when set, interpolates between exactly two members:
	// (1-λ)·first + λ·second, with λ in [0, 1]; λ=0 and λ=1 reproduce the
	// first and second member bit for bit.
	Lambda *float64
	// Into is an existing uniform merge (with "warm.member_count" n) to which
	// the members are added: the result equals a uniform merge of the n old
	// and the k new members, to within float rounding, without the old
	// members. It may also be the output path, which is then replaced.
	Into string
	// OutDType is the dtype of the averaged (float) tensors: F32, F16, BF16
	// or F64. Empty means the members' dtype (which must then agree).
	OutDType safetensors.DType
	// Accumulate is the summation precision (default AccumulateF64).
	Accumulate Accumulation
	// ShardSize, when positive, shards the output greedily in tensor-name
	// order into files of at most this many data bytes (a larger tensor gets
	// a shard of its own); one shard gives an unsharded model.safetensors.
	// Zero keeps the layout of the first member (of Into when set): the same
	// shards holding the same tensors, or a single file.
	ShardSize int64
	// AllowMixedDTypes lets a float tensor have different float dtypes in
	// different members (each is converted exactly before averaging).
	AllowMixedDTypes bool
	// IgnoreBaseFingerprint merges members that lack a
	// "warm.base_fingerprint" or disagree on it (checkpoints from other
	// tools). Without it every member must carry the same base fingerprint.
	IgnoreBaseFingerprint bool
	// IgnoreConfigFields adds top-level config.json fields to the list of
	// fields that may differ between members (see DefaultIgnoredConfigFields).
	IgnoreConfigFields []string
	// Overwrite replaces an existing output (which must be a safetensors
	// checkpoint) atomically. Without it an existing output is an error.
	Overwrite bool
	// NoSync skips fsync of the output. The output still appears atomically
	// (a crash or kill of the merge leaves no partial output) but a power
	// failure soon after may lose it.
	NoSync bool
	// VerifyMembers reads and hashes every member before merging: a member
	// whose "warm.fingerprint" does not match its content is an error, and a
	// member without one is recorded by its content fingerprint instead of
	// the weaker header identity. It reads all member data twice (the merge
	// itself never hashes member bytes), so it is off by default.
	VerifyMembers bool
	// Fingerprint says whether the output's content fingerprint
	// ("warm.fingerprint") is computed while streaming (default
	// FingerprintAuto).
	Fingerprint FingerprintMode
	// Threads is the number of worker goroutines (GOMAXPROCS when < 1).
	Threads int
	// Progress, when set, is called after each piece of output is written
	// with the input bytes processed so far and the total, from the
	// goroutine running the merge.
	Progress func(done, total int64)
	// Verify, when set, is called with the complete output (a temporary
	// checkpoint directory beside the destination, or the temporary file
	// for a single-file output) before it is put in place. An error from it
	// aborts the merge: nothing is published and the error is returned.
	// merge's check of WARM's precondition (warm merge --check-on) scores
	// the members and this output here.
	Verify func(ctx context.Context, output string) error
}

func (o *Options) validate(nMembers int) error {
	switch o.Accumulate {
	case "":
		o.Accumulate = AccumulateF64
	case AccumulateF64, AccumulateF32:
	default:
		return fmt.Errorf("accumulation %q: want F64 or F32", o.Accumulate)
	}
	switch o.Fingerprint {
	case "":
		o.Fingerprint = FingerprintAuto
	case FingerprintAuto, FingerprintAlways, FingerprintNever:
	default:
		return fmt.Errorf("fingerprint mode %q: want auto, always or never", o.Fingerprint)
	}
	if o.OutDType != "" && !o.OutDType.IsFloat() {
		return fmt.Errorf("output dtype %q: want F32, F16, BF16 or F64", o.OutDType)
	}
	if o.ShardSize < 0 {
		return fmt.Errorf("shard size %d is negative", o.ShardSize)
	}
	if nMembers < 1 {
		return fmt.Errorf("no members to merge")
	}
	if o.Lambda != nil {
		l := *o.Lambda
		switch {
		case o.Weights != nil:
			return fmt.Errorf("give weights or lambda, not both")
		case o.Into != "":
			return fmt.Errorf("lambda interpolates two members; it cannot be combined with a running update (into)")
		case nMembers != 2:
			return fmt.Errorf("lambda interpolates exactly 2 members, got %d", nMembers)
		case math.IsNaN(l) || l < 0 || l > 1:
			return fmt.Errorf("lambda %v is outside [0, 1]", l)
		}
	}
	if o.Weights != nil {
		if o.Into != "" {
			return fmt.Errorf("a running update (into) adds members uniformly; weights cannot be combined with it")
		}
		if len(o.Weights) != nMembers {
			return fmt.Errorf("%d weights for %d members", len(o.Weights), nMembers)
		}
		sum := 0.0
		for i, w := range o.Weights {
			if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
				return fmt.Errorf("weight %d is %v: weights must be finite and non-negative", i+1, w)
			}
			sum += w
		}
		if !(sum > 0) || math.IsInf(sum, 0) {
			return fmt.Errorf("weights sum to %v: need a positive, finite sum", sum)
		}
	}
	return nil
}
