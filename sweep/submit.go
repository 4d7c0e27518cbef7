package sweep

import (
	"fmt"
	"path/filepath"
	"strings"
)

// submission is what the jobs of every scheduler share: the manifest's
// absolute path, where the report and the merge go, how many members the
// merge takes, and the members still to train.
type submission struct {
	Manifest string // absolute path of the manifest
	Dir      string // its directory
	Out      string // where the merge goes (default DIR/warm)
	Report   string // where the report goes (default DIR/report)
	TopM     int    // members merged (default: every averageable member)
	// Todo lists the members not done, in manifest order.
	Todo []int
	// NoReport merges every averageable member (Members) without ranking
	// them by `warm report`.
	NoReport bool
	Members  []string
	// External is set for a manifest whose members another tool trains.
	External bool
}

// submission resolves the paths and defaults of a submission of the
// manifest at path. A stale member (trained with another configuration) is
// an error, since retraining it would overwrite a checkpoint the manifest
// no longer describes.
func (m *Manifest) submission(path string, topM int, out, report string, noReport bool) (*submission, error) {
	man := absPath(path)
	s := &submission{Manifest: man, Dir: filepath.Dir(man), Out: out, Report: report, TopM: topM, NoReport: noReport, External: m.Command != ""}
	if s.Out == "" {
		s.Out = filepath.Join(s.Dir, "warm")
	}
	if s.Report == "" {
		s.Report = filepath.Join(s.Dir, "report")
	}
	pool := len(m.Averageable())
	if s.TopM <= 0 {
		s.TopM = pool
	}
	if s.TopM > pool {
		return nil, fmt.Errorf("sweep: merging the top %d members, but the sweep has %d to average", s.TopM, pool)
	}
	if noReport {
		if s.TopM != pool {
			return nil, fmt.Errorf("sweep: merging the top %d of %d members needs the report that ranks them: drop --no-report or --merge-top", s.TopM, pool)
		}
		for _, i := range m.Averageable() {
			s.Members = append(s.Members, absPath(m.MemberDir(i)))
		}
	}
	for _, st := range m.Status() {
		switch st.State {
		case StateDone:
		case StateStale:
			return nil, fmt.Errorf("sweep: member %s: %s", st.Name, st.Detail)
		default:
			s.Todo = append(s.Todo, st.Index)
		}
	}
	return s, nil
}

// headCommand is the shell line that fits the shared head; it runs
// "$WARM" on "$MANIFEST".
func headCommand(threads int) string {
	return fmt.Sprintf("\"$WARM\" --threads %d sweep run \"$MANIFEST\" --head-only\n", threads)
}

// memberCommand is the shell line that trains (or resumes) the member
// whose index the shell word member expands to; it runs "$WARM" on
// "$MANIFEST".
func memberCommand(threads int, member string, saveEvery int) string {
	save := ""
	if saveEvery > 0 {
		save = fmt.Sprintf(" --save-every %d", saveEvery)
	}
	return fmt.Sprintf("\"$WARM\" --threads %d sweep run \"$MANIFEST\" --member %s --resume%s\n", threads, member, save)
}

// mergeCommands are the bash lines, run after every member, that write the
// report (which ranks the members) and merge the top s.TopM, or with
// NoReport merge every member; they run "$WARM" on "$MANIFEST". Members
// trained by another tool carry no warm base fingerprint: the manifest
// ties them to the base by its content hash instead (checked by every
// member run and by sweep status), so merge skips its own check.
func (s *submission) mergeCommands(threads int) string {
	flags := "-q --force"
	if s.External {
		flags += " --ignore-base-fingerprint"
	}
	if s.NoReport {
		dirs := make([]string, len(s.Members))
		for i, d := range s.Members {
			dirs[i] = shellQuote(d)
		}
		return fmt.Sprintf(`# After every member: WARM(%d) of all of them.
"$WARM" sweep status "$MANIFEST"
"$WARM" --threads %d merge %s -o %s %s
`, s.TopM, threads, flags, shellQuote(s.Out), strings.Join(dirs, " "))
	}
	return fmt.Sprintf(`# After every member: the report (which ranks them), then WARM(%d) of the best.
"$WARM" --threads %d report "$MANIFEST" -o %s --force
mapfile -t top < <("$WARM" sweep top "$MANIFEST" -m %d --results %s)
"$WARM" --threads %d merge %s -o %s "${top[@]}"
`, s.TopM, threads, shellQuote(s.Report), s.TopM, shellQuote(filepath.Join(s.Report, "results.json")), threads, flags, shellQuote(s.Out))
}

// absPath is p made absolute (p itself if that fails).
func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}
