package merge

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/safetensors"
)

// CheckError is a difference between members found before any tensor data
// is read (or a problem with one member's data found while merging). It
// names the member, the tensor when there is one, and the difference.
type CheckError struct {
	// Member labels the member: "member 2 (path)" or "--into (path)".
	Member string
	// Tensor is the tensor concerned, or "".
	Tensor string
	// Msg describes the difference.
	Msg string
	// Ref labels the member compared against, or "".
	Ref string
}

func (e *CheckError) Error() string {
	var b strings.Builder
	b.WriteString(e.Member)
	b.WriteString(": ")
	if e.Tensor != "" {
		fmt.Fprintf(&b, "tensor %q: ", e.Tensor)
	}
	b.WriteString(e.Msg)
	if e.Ref != "" {
		fmt.Fprintf(&b, " (reference: %s)", e.Ref)
	}
	return b.String()
}

// maxProblems bounds how many differences a failed check reports.
const maxProblems = 12

// Member is one input of a Plan.
type Member struct {
	// Path is the path as given.
	Path string
	// Label names the member in messages.
	Label string
	// Set is the open checkpoint.
	Set *safetensors.Set
	// Weight is the member's normalised weight.
	Weight float64
	// Count is how many original members this input stands for.
	Count int
	// Fingerprint is the member's "warm.fingerprint" or header identity.
	Fingerprint string
	aux         []auxFile
}

// TensorPlan is how one output tensor is made.
type TensorPlan struct {
	Name  string
	Shape []int64
	// InDTypes are the members' dtypes, in Plan.Members order.
	InDTypes []safetensors.DType
	// OutDType is the output dtype.
	OutDType safetensors.DType
	// Average is true for float tensors (averaged), false for integer and
	// bool tensors (identical in every member, copied).
	Average bool
	// Shard indexes Plan.Shards.
	Shard int
	refs  []safetensors.SetTensor
}

// Elements returns the number of elements of the tensor.
func (t *TensorPlan) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// OutBytes returns the tensor's output bytes.
func (t *TensorPlan) OutBytes() int64 { return t.Elements() * int64(t.OutDType.Size()) }

// Plan is a checked merge: members opened and compared, weights normalised,
// output tensors and layout decided. No tensor data has been read. Close it
// when done (Run does for the package-level Run).
type Plan struct {
	// Members are the inputs: the Into merge first when there is one.
	Members []*Member
	// Method is how the members are weighed.
	Method Method
	// MemberCount is the output's "warm.member_count".
	MemberCount int
	// Tensors are the output tensors sorted by name.
	Tensors []*TensorPlan
	// Shards are the output file names (one: model.safetensors).
	Shards []string
	// BaseFingerprint is the members' common "warm.base_fingerprint", or
	// "" when they have none (IgnoreBaseFingerprint).
	BaseFingerprint string
	// InBytes is the tensor data read from all members; OutBytes is the
	// tensor data written.
	InBytes, OutBytes int64

	opts     Options
	previous *Info
	outDType safetensors.DType // common output dtype of averaged tensors, or ""
}

// Check runs every check of a merge without reading tensor data: the
// members open and parse, agree on tensor names, shapes and dtypes, config
// and tokenizer files, and base fingerprint; the options make sense.
func Check(members []string, opts Options) error {
	p, err := NewPlan(members, opts)
	if err != nil {
		return err
	}
	return p.Close()
}

// NewPlan opens the members (and opts.Into), runs every check, and returns
// the plan of the merge. It reads headers, indexes, config and tokenizer
// files, but no tensor data.
func NewPlan(members []string, opts Options) (_ *Plan, err error) {
	if err := opts.validate(len(members)); err != nil {
		return nil, err
	}
	p := &Plan{opts: opts}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	paths := members
	if opts.Into != "" {
		paths = append([]string{opts.Into}, members...)
	}
	for i, path := range paths {
		label := fmt.Sprintf("member %d (%s)", i+1, path)
		if opts.Into != "" {
			label = fmt.Sprintf("member %d (%s)", i, path)
			if i == 0 {
				label = fmt.Sprintf("--into (%s)", path)
			}
		}
		s, err := safetensors.OpenSet(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		m := &Member{Path: path, Label: label, Set: s, Count: 1}
		p.Members = append(p.Members, m)
		if fp := s.Metadata[safetensors.MetaFingerprint]; fp != "" {
			m.Fingerprint = fp
		} else {
			m.Fingerprint = s.HeaderIdentity()
		}
		if n, err := strconv.Atoi(s.Metadata[safetensors.MetaMemberCount]); err == nil && n > 0 {
			m.Count = n
		}
		if m.aux, err = readAux(s.Dir); err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
	}
	if err := p.setWeights(); err != nil {
		return nil, err
	}
	if err := p.checkTensors(); err != nil {
		return nil, err
	}
	if err := p.checkAux(); err != nil {
		return nil, err
	}
	if err := p.checkBase(); err != nil {
		return nil, err
	}
	if err := p.layout(); err != nil {
		return nil, err
	}
	return p, nil
}

// Close closes the members' files.
func (p *Plan) Close() error {
	var errs []error
	for _, m := range p.Members {
		if err := m.Set.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Weights returns the normalised weights in Members order.
func (p *Plan) Weights() []float64 {
	w := make([]float64, len(p.Members))
	for i, m := range p.Members {
		w[i] = m.Weight
	}
	return w
}

func (p *Plan) setWeights() error {
	o := p.opts
	n := len(p.Members)
	switch {
	case o.Into != "":
		into := p.Members[0]
		info, count, err := ReadInfo(into.Set.Metadata)
		if err != nil {
			return fmt.Errorf("%s: cannot add members to it: %w", into.Label, err)
		}
		if info.Method != MethodUniform && info.Method != MethodRunning {
			return fmt.Errorf("%s: is a %q merge; a running update needs a uniform one", into.Label, info.Method)
		}
		into.Count = count
		p.previous = info
		total := float64(count + n - 1)
		into.Weight = float64(count) / total
		for _, m := range p.Members[1:] {
			m.Weight = 1 / total
		}
		p.Method, p.MemberCount = MethodRunning, count+n-1
	case o.Lambda != nil:
		p.Members[0].Weight, p.Members[1].Weight = 1-*o.Lambda, *o.Lambda
		p.Method, p.MemberCount = MethodInterpolate, 2
	case o.Weights != nil:
		sum := 0.0
		for _, w := range o.Weights {
			sum += w
		}
		for i, m := range p.Members {
			m.Weight = o.Weights[i] / sum
		}
		p.Method, p.MemberCount = MethodWeighted, n
	default:
		for _, m := range p.Members {
			m.Weight = 1 / float64(n)
		}
		p.Method, p.MemberCount = MethodUniform, n
	}
	return nil
}

// checkTensors compares every member's tensors with the first member's and
// builds the tensor plans.
func (p *Plan) checkTensors() error {
	ref := p.Members[0]
	var probs []error
	add := func(m *Member, tensor, format string, args ...any) {
		probs = append(probs, &CheckError{Member: m.Label, Tensor: tensor, Msg: fmt.Sprintf(format, args...), Ref: ref.Label})
	}
	for _, m := range p.Members[1:] {
		for _, t := range ref.Set.Tensors() {
			if _, ok := m.Set.Lookup(t.Name); !ok {
				add(m, t.Name, "missing (the reference has it)")
			}
		}
		for _, t := range m.Set.Tensors() {
			if _, ok := ref.Set.Lookup(t.Name); !ok {
				add(m, t.Name, "extra tensor (not in the reference)")
			}
		}
	}
	mixed := false
	for _, rt := range ref.Set.Tensors() {
		tp := &TensorPlan{Name: rt.Name, Shape: rt.Shape, Average: rt.DType.IsFloat()}
		for _, m := range p.Members {
			t, ok := m.Set.Lookup(rt.Name)
			if !ok {
				continue
			}
			tp.refs = append(tp.refs, t)
			tp.InDTypes = append(tp.InDTypes, t.DType)
			if !equalShape(t.Shape, rt.Shape) {
				add(m, t.Name, "shape %v differs from the reference's %v", t.Shape, rt.Shape)
			}
			if t.DType != rt.DType {
				switch {
				case t.DType.IsFloat() && rt.DType.IsFloat() && !p.opts.AllowMixedDTypes:
					add(m, t.Name, "dtype %s differs from the reference's %s (--allow-mixed-dtypes averages them)", t.DType, rt.DType)
				case !t.DType.IsFloat() || !rt.DType.IsFloat():
					add(m, t.Name, "dtype %s differs from the reference's %s; integer and bool tensors must be identical in every member", t.DType, rt.DType)
				default:
					mixed = true
				}
			}
		}
		if len(probs) >= maxProblems {
			break
		}
		p.Tensors = append(p.Tensors, tp)
	}
	if len(probs) > 0 {
		return joinProblems(probs)
	}
	// Output dtypes.
	outs := map[safetensors.DType]bool{}
	for _, tp := range p.Tensors {
		tp.OutDType = tp.InDTypes[0]
		if tp.Average {
			switch {
			case p.opts.OutDType != "":
				tp.OutDType = p.opts.OutDType
			case mixed && !allSame(tp.InDTypes):
				return fmt.Errorf("tensor %q has dtypes %v in the members: choose an output dtype", tp.Name, tp.InDTypes)
			}
			outs[tp.OutDType] = true
		}
		p.InBytes += tp.Elements() * sumSizes(tp.InDTypes)
		p.OutBytes += tp.OutBytes()
	}
	if len(outs) == 1 {
		for d := range outs {
			p.outDType = d
		}
	}
	return nil
}

func (p *Plan) checkAux() error {
	ref := p.Members[0]
	var probs []error
	for _, m := range p.Members[1:] {
		for _, msg := range compareAux(ref.aux, m.aux, p.opts.IgnoreConfigFields) {
			probs = append(probs, &CheckError{Member: m.Label, Msg: msg, Ref: ref.Label})
		}
	}
	return joinProblems(probs)
}

func (p *Plan) checkBase() error {
	ref := p.Members[0]
	base := ref.Set.Metadata[safetensors.MetaBaseFingerprint]
	same := true
	for _, m := range p.Members {
		b := m.Set.Metadata[safetensors.MetaBaseFingerprint]
		if b != base || b == "" {
			same = false
		}
		if p.opts.IgnoreBaseFingerprint {
			continue
		}
		if b == "" {
			return &CheckError{Member: m.Label, Msg: fmt.Sprintf("has no %s metadata, so it cannot be shown to share the reference's pre-trained base; to merge checkpoints made by other tools, pass --ignore-base-fingerprint (Options.IgnoreBaseFingerprint)", safetensors.MetaBaseFingerprint)}
		}
		if b != base {
			return &CheckError{Member: m.Label, Msg: fmt.Sprintf("base fingerprint %s differs from the reference's %s: the members were not fine-tuned from the same pre-trained base", b, base), Ref: ref.Label}
		}
	}
	if same {
		p.BaseFingerprint = base
	}
	return nil
}

// layout assigns output tensors to shards.
func (p *Plan) layout() error {
	ref := p.Members[0]
	switch {
	case p.opts.ShardSize > 0:
		shard, size := 0, int64(0)
		for i, tp := range p.Tensors {
			b := tp.OutBytes()
			if i > 0 && size+b > p.opts.ShardSize && size > 0 {
				shard++
				size = 0
			}
			tp.Shard = shard
			size += b
		}
		p.Shards = shardNames(shard + 1)
	case ref.Set.Sharded():
		for _, tp := range p.Tensors {
			tp.Shard = tp.refs[0].Shard
		}
		p.Shards = shardNames(len(ref.Set.Files))
	default:
		p.Shards = shardNames(1)
	}
	return nil
}

func shardNames(n int) []string {
	if n == 1 {
		return []string{safetensors.SingleFileName}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, n)
	}
	return names
}

func joinProblems(probs []error) error {
	if len(probs) == 0 {
		return nil
	}
	if len(probs) > maxProblems {
		extra := len(probs) - maxProblems
		probs = append(probs[:maxProblems], fmt.Errorf("... and %d more", extra))
	}
	if len(probs) == 1 {
		return probs[0]
	}
	return errors.Join(probs...)
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func allSame(ds []safetensors.DType) bool {
	for _, d := range ds {
		if d != ds[0] {
			return false
		}
	}
	return true
}

func sumSizes(ds []safetensors.DType) int64 {
	var n int64
	for _, d := range ds {
		n += int64(d.Size())
	}
	return n
}

// info builds the "warm.merge" record of the plan.
func (p *Plan) info() *Info {
	info := &Info{
		Method:     p.Method,
		Weights:    p.Weights(),
		Lambda:     p.opts.Lambda,
		Accumulate: p.opts.Accumulate,
		OutDType:   p.outDType,
		Version:    Version(),
		Previous:   p.previous,
	}
	for _, m := range p.Members {
		info.Members = append(info.Members, MemberRecord{Path: filepath.Clean(m.Path), Fingerprint: m.Fingerprint, Count: m.Count})
	}
	return info
}
