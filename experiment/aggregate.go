package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/sweep"
)

// AggregateRow is one metric across several reports (sweep seeds).
type AggregateRow struct {
	Metric string    `json:"metric"` // e.g. "WA(6)", "WA(6) − ENS(6)"
	Set    string    `json:"set"`
	Values []float64 `json:"values"` // one per report, in the given order
	Mean   float64   `json:"mean"`
	SD     float64   `json:"sd"` // sample standard deviation over reports
}

// Aggregate is the spread of the key comparisons over several runs.
type Aggregate struct {
	Reports []string       `json:"reports"`
	Rows    []AggregateRow `json:"rows"`
	// Verdicts counts, per observation, how many reports gave each verdict.
	Verdicts map[string]map[Verdict]int `json:"verdicts"`
}

// AggregateReports computes the mean and standard deviation over reports of
// the accuracy of WA(M), ENS(M), the best member and the mean member, and of
// the paired differences WA(M) − ENS(M) and WA(M) − best, on every set.
func AggregateReports(paths []string, reps []*Report) (*Aggregate, error) {
	if len(reps) < 2 {
		return nil, fmt.Errorf("aggregate: need at least 2 reports, have %d", len(reps))
	}
	ag := &Aggregate{Reports: paths, Verdicts: map[string]map[Verdict]int{}}
	type key struct{ metric, set string }
	vals := map[key][]float64{}
	var order []key
	add := func(metric, set string, v float64) {
		k := key{metric, set}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = append(vals[k], v)
	}
	for _, rep := range reps {
		r := rep.Results
		best := ""
		for _, m := range r.Members {
			if m.Rank == 0 {
				best = m.Name
			}
		}
		for _, s := range r.Sets {
			var sum float64
			n := 0
			for _, m := range r.Members {
				if m.Rank < 0 {
					continue
				}
				if res, ok := r.Entry(m.Name).Result(s.Name); ok {
					sum += res.Accuracy
					n++
				}
			}
			if n > 0 {
				add("mean member", s.Name, sum/float64(n))
			}
			if e := r.Entry(best); e != nil {
				if res, ok := e.Result(s.Name); ok {
					add("best member", s.Name, res.Accuracy)
				}
			}
			for _, e := range r.Entries {
				if e.Kind == sweep.KindWA || e.Kind == sweep.KindENS {
					if res, ok := e.Result(s.Name); ok {
						add(e.Name, s.Name, res.Accuracy)
					}
				}
			}
		}
		for _, c := range r.Comparisons {
			b := c.B
			if b == best {
				b = "best member"
			} else if !strings.HasPrefix(b, "ENS(") {
				continue
			}
			add(c.A+" − "+b, c.Set, c.Diff)
		}
		for _, o := range rep.Observations {
			if ag.Verdicts[o.ID] == nil {
				ag.Verdicts[o.ID] = map[Verdict]int{}
			}
			ag.Verdicts[o.ID][o.Verdict]++
		}
	}
	for _, k := range order {
		v := vals[k]
		if len(v) != len(reps) {
			continue // not in every report
		}
		var sum float64
		for _, x := range v {
			sum += x
		}
		mean := sum / float64(len(v))
		var ss float64
		for _, x := range v {
			ss += (x - mean) * (x - mean)
		}
		ag.Rows = append(ag.Rows, AggregateRow{Metric: k.metric, Set: k.set, Values: v, Mean: mean, SD: math.Sqrt(ss / float64(len(v)-1))})
	}
	return ag, nil
}

// Markdown renders the aggregate.
func (ag *Aggregate) Markdown(title, command string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nProduced by `%s` from %d reports:\n\n", title, command, len(ag.Reports))
	for i, p := range ag.Reports {
		fmt.Fprintf(&b, "%d. `%s`\n", i+1, p)
	}
	b.WriteString("\nMean ± sample standard deviation over the reports (sweep seeds). A difference whose mean is several SDs from 0 holds across seeds.\n\n")
	t := report.Table{Head: []string{"metric", "set"}}
	for i := range ag.Reports {
		t.Head = append(t.Head, fmt.Sprintf("run %d", i+1))
	}
	t.Head = append(t.Head, "mean ± sd")
	for _, r := range ag.Rows {
		row := []string{r.Metric, r.Set}
		for _, v := range r.Values {
			row = append(row, fmt.Sprintf("%+.4f", v))
		}
		row = append(row, fmt.Sprintf("%+.4f ± %.4f", r.Mean, r.SD))
		t.Rows = append(t.Rows, row)
	}
	b.WriteString(t.Markdown())
	b.WriteString("\n## Verdicts of the paper's observations across runs\n\n")
	ids := make([]string, 0, len(ag.Verdicts))
	for id := range ag.Verdicts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	vt := report.Table{Head: []string{"observation", "verdicts"}}
	for _, id := range ids {
		var parts []string
		for v, n := range ag.Verdicts[id] {
			parts = append(parts, fmt.Sprintf("%s ×%d", v, n))
		}
		sort.Strings(parts)
		vt.Rows = append(vt.Rows, []string{id, strings.Join(parts, ", ")})
	}
	b.WriteString(vt.Markdown())
	return b.String()
}

// WriteAggregate reads the reports' results.json and writes aggregate.md and
// aggregate.json into dir (atomically).
func WriteAggregate(dir string, reports []string, title, command string, replace bool) (*Aggregate, error) {
	var reps []*Report
	for _, p := range reports {
		rep, err := ReadResults(p)
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	ag, err := AggregateReports(reports, reps)
	if err != nil {
		return nil, err
	}
	js, err := json.MarshalIndent(ag, "", "  ")
	if err != nil {
		return nil, err
	}
	md := ag.Markdown(title, command)
	err = atomicdir.Write(dir, replace, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "aggregate.json"), append(js, '\n'), 0o644); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(tmp, "aggregate.md"), []byte(md), 0o644)
	})
	return ag, err
}
