package coverage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tmlData is the union of the covered-function files.
type tmlData struct {
	// covered maps each covered name to whether a process without failed
	// tests covered it.
	covered      map[string]bool
	files        int // files read
	failedProcs  int // files, with names, from processes with failed tests
	onlyFailed   int // names covered only by such processes
	tmlProcesses int // processes of tml suites started
}

// mergeTML reads every file under raw/tml.
func mergeTML(rawDir string, snap *snapshot, w *warner) *tmlData {
	d := &tmlData{covered: map[string]bool{}}
	for _, p := range snap.procs {
		if p.protocol == "tml" {
			d.tmlProcesses++
		}
	}
	dir := filepath.Join(rawDir, "tml")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		w.add("cannot read TML coverage files: %v", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".txt") {
			continue
		}
		fromFile, id := splitRawName(strings.TrimSuffix(e.Name(), ".txt"))
		suite := snap.suiteOf(id, fromFile)
		failed := snap.procs[id] != nil && snap.procs[id].failed
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			w.add("TML coverage of suite %s (process %d): %v", suite, id, err)
			continue
		}
		st, err := readNames(f, false, func(name string) {
			d.covered[name] = d.covered[name] || !failed
		})
		f.Close()
		d.files++
		if err != nil {
			w.add("TML coverage of suite %s (process %d): read %s: %v (lines before the error are kept)", suite, id, e.Name(), err)
		}
		if p := st.problems(); p != "" {
			w.add("TML coverage of suite %s (process %d, %s): %s", suite, id, e.Name(), p)
		}
		if failed && st.names > 0 {
			d.failedProcs++
		}
	}
	for _, clean := range d.covered {
		if !clean {
			d.onlyFailed++
		}
	}
	return d
}

// splitRawName splits "<suite>-<proc>" into its parts; id is 0 when the
// name has no process number.
func splitRawName(s string) (suite string, id int) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return s, 0
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil {
		return s, 0
	}
	return s[:i], n
}

// readFunctions reads the full function list.
func readFunctions(path string, w *warner) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var names []string
	st, err := readNames(f, true, func(name string) {
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	})
	if err != nil {
		return nil, err
	}
	if n := st.nrejected(); n > 0 {
		w.add("function list %s: %s rejected, first: %s", path, plural(n, "line", "lines"), st.example)
	}
	return names, nil
}

// moduleOf is the module of a function name: its first `::` segment.
func moduleOf(name string) string {
	if i := strings.Index(name, "::"); i > 0 {
		return name[:i]
	}
	return NoModule
}

// NoModule is the module of function names without `::`.
const NoModule = "(none)"

// buildModules fills the report's function coverage from the covered set and
// the full list (nil when unknown).
func (r *Report) buildModules(d *tmlData, all []string, listPath string, w *warner) {
	r.functions = true
	r.Modules = map[string]*Module{}
	r.Covered = make([]string, 0, len(d.covered))
	for name := range d.covered {
		r.Covered = append(r.Covered, name)
	}
	slices.Sort(r.Covered)
	s := &r.Totals
	s.Processes = d.files
	s.FailedProcesses = d.failedProcs
	s.OnlyFromFailed = d.onlyFailed
	mod := func(name string) *Module {
		m := r.Modules[moduleOf(name)]
		if m == nil {
			m = &Module{Uncovered: []string{}}
			r.Modules[moduleOf(name)] = m
		}
		return m
	}
	if all == nil {
		for _, name := range r.Covered {
			m := mod(name)
			m.Total++
			m.Covered++
		}
		s.LibraryFunctions = len(r.Covered)
		s.LibraryCovered = len(r.Covered)
	} else {
		listed := map[string]bool{}
		for _, name := range all {
			listed[name] = true
			m := mod(name)
			m.Total++
			if _, ok := d.covered[name]; ok {
				m.Covered++
				s.LibraryCovered++
			} else {
				m.Uncovered = append(m.Uncovered, name)
			}
		}
		s.LibraryFunctions = len(all)
		pct := percent(s.LibraryCovered, s.LibraryFunctions)
		s.CoveragePercent = &pct
		for _, name := range r.Covered {
			if !listed[name] {
				s.NotListed = append(s.NotListed, name)
			}
		}
		if n := len(s.NotListed); n > 0 {
			w.add("%s covered but not in the function list %s (stale list?), not counted: %s",
				plural(n, "function is", "functions are"), listPath, list(s.NotListed, 5))
		}
	}
	for _, m := range r.Modules {
		slices.Sort(m.Uncovered)
		if all != nil {
			p := percent(m.Covered, m.Total)
			m.Percent = &p
		}
		switch {
		case m.Covered == m.Total:
			s.ModulesFull++
		case m.Covered == 0:
			s.ModulesZero++
		default:
			s.ModulesPartial++
		}
	}
}
