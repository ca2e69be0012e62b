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
	files        int          // files read
	failedProcs  int          // files, with names, from processes with failed tests
	onlyFailed   int          // names covered only by such processes
	tmlProcesses int          // processes of tml suites started
	wrote        map[int]bool // processes whose file was found
}

// mergeTML reads every file under raw/tml.
func mergeTML(rawDir string, snap *snapshot, w *warner) *tmlData {
	d := &tmlData{covered: map[string]bool{}, wrote: map[int]bool{}}
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
		d.wrote[id] = true
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

// listModules groups a function list into modules by moduleOf, sorted by
// module name.
func listModules(all []string) []srcModule {
	idx := map[string]int{}
	var mods []srcModule
	for _, name := range all {
		m := moduleOf(name)
		j, ok := idx[m]
		if !ok {
			j = len(mods)
			idx[m] = j
			mods = append(mods, srcModule{name: m})
		}
		mods[j].funcs = append(mods[j].funcs, name)
	}
	slices.SortFunc(mods, func(a, b srcModule) int { return strings.Compare(a.name, b.name) })
	return mods
}

// buildModules fills the report's function coverage from the covered set
// and the library's modules (nil when unknown), as TML computes it: each
// module counts its functions and those covered; a name in two modules
// counts in both. fromList says the modules come from a function list
// (then a covered name it lacks is a warning: the list is stale), not
// from the library's sources (where covered names outside them, generic
// instantiations and test functions, are normal).
func (r *Report) buildModules(d *tmlData, mods []srcModule, fromList bool, listPath string, w *warner) {
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
	s.RuntimeCovered = len(r.Covered)
	known := mods != nil
	if !known {
		mods = listModules(r.Covered)
	}
	listed := map[string]bool{}
	for _, sm := range mods {
		m := r.Modules[sm.name]
		if m == nil {
			m = &Module{Uncovered: []string{}}
			r.Modules[sm.name] = m
			r.order = append(r.order, sm.name)
		}
		for _, name := range sm.funcs {
			listed[name] = true
			m.Total++
			if _, ok := d.covered[name]; ok {
				m.Covered++
			} else {
				m.Uncovered = append(m.Uncovered, name)
			}
		}
		s.LibraryFunctions += m.Total
		s.LibraryCovered += m.Covered
	}
	if known {
		pct := percent(s.LibraryCovered, s.LibraryFunctions)
		s.CoveragePercent = &pct
		if fromList {
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
	}
	for _, m := range r.Modules {
		if known {
			p := percent(m.Covered, m.Total)
			m.Percent = &p
		}
		switch {
		case m.Total == 0:
		case m.Covered == m.Total:
			s.ModulesFull++
		case m.Covered == 0:
			s.ModulesZero++
		default:
			s.ModulesPartial++
		}
	}
}

// silentProcesses warns about the tml processes in which a test passed but
// that wrote no coverage file: a TML test file writes one whenever it
// returns, so the suite was not built for coverage (or lost the file). A
// process whose tests all failed writes nothing, rightly.
func silentProcesses(d *tmlData, snap *snapshot, w *warner) {
	var silent []string
	ids := make([]int, 0, len(snap.passProc))
	for id := range snap.passProc {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := snap.procs[id]
		if p == nil || p.protocol != "tml" || d.wrote[id] {
			continue
		}
		what := "suite " + p.suite
		if t := snap.passProc[id]; t != "" {
			what += " (test " + t + ")"
		}
		silent = append(silent, what)
	}
	if len(silent) > 0 {
		w.add("%s passed tests but wrote no TML coverage file ($%s): %s; were they built with coverage (`tml test --coverage`)?",
			plural(len(silent), "process", "processes"), TMLEnv, list(silent, 5))
	}
}
