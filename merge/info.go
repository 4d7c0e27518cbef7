package merge

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/warm-rm/warm/safetensors"
)

// Info is the "warm.merge" metadata of a merge output: how it was made, from
// what.
type Info struct {
	// Method is how the members were weighed.
	Method Method `json:"method"`
	// Weights are the normalised weights, one per entry of Members.
	Weights []float64 `json:"weights"`
	// Lambda is set for MethodInterpolate.
	Lambda *float64 `json:"lambda,omitempty"`
	// Members are the inputs, in command-line order (the Into merge first
	// for a running update).
	Members []MemberRecord `json:"members"`
	// Accumulate is the summation precision.
	Accumulate Accumulation `json:"accumulate"`
	// OutDType is the dtype of the averaged tensors (empty when it differs
	// between tensors because the members' did).
	OutDType safetensors.DType `json:"out_dtype,omitempty"`
	// Version identifies the warm build that made the merge.
	Version string `json:"warm_version"`
	// Previous is the Info of the merge a running update started from.
	Previous *Info `json:"previous,omitempty"`
}

// MemberRecord identifies one input of a merge.
type MemberRecord struct {
	// Path is the member's path as given.
	Path string `json:"path"`
	// Fingerprint is the member's "warm.fingerprint" ("wfp1:..."), or, for a
	// checkpoint without one, its header identity ("hdr1:...", weaker: it
	// covers headers and file sizes, not the weights).
	Fingerprint string `json:"fingerprint"`
	// Count is how many original members this input stands for: its
	// "warm.member_count" when it is itself a merge, else 1.
	Count int `json:"count"`
}

// ReadInfo returns the "warm.merge" Info and "warm.member_count" of a
// checkpoint's metadata.
func ReadInfo(metadata map[string]string) (*Info, int, error) {
	raw, ok := metadata[safetensors.MetaMerge]
	if !ok {
		return nil, 0, fmt.Errorf("no %s metadata: not a merge made by warm", safetensors.MetaMerge)
	}
	var info Info
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return nil, 0, fmt.Errorf("%s metadata: %w", safetensors.MetaMerge, err)
	}
	if _, err := ParseMethod(string(info.Method)); err != nil {
		return nil, 0, fmt.Errorf("%s metadata: %w", safetensors.MetaMerge, err)
	}
	n, err := strconv.Atoi(metadata[safetensors.MetaMemberCount])
	if err != nil || n < 1 {
		return nil, 0, fmt.Errorf("%s metadata %q is not a positive integer", safetensors.MetaMemberCount, metadata[safetensors.MetaMemberCount])
	}
	return &info, n, nil
}

// Version returns the version of the running warm build: the module
// version and, when built from a git checkout, the commit.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " " + rev + dirty
	}
	return v
}
