package coverage

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files in the report directory that outlive a run.
const (
	HistoryFile = "coverage_history.jsonl"
	CoveredFile = "covered_functions.txt"
)

// historyEntry is one line of the history: one run, in the schema of
// TML's coverage_history.jsonl, so that TML and volley share one history.
// volley adds its Go and LLVM percentages.
type historyEntry struct {
	Timestamp        string       `json:"timestamp"` // local time, 2006-01-02T15:04:05.000
	CoveragePercent  *fixed       `json:"coverage_percent,omitempty"`
	LibraryFunctions int          `json:"library_functions"`
	LibraryCovered   int          `json:"library_covered"`
	RuntimeCovered   int          `json:"runtime_covered_functions"`
	ModulesFull      int          `json:"modules_full"`
	ModulesPartial   int          `json:"modules_partial"`
	ModulesZero      int          `json:"modules_zero"`
	TestsPassed      int          `json:"tests_passed"`
	TestsFailed      int          `json:"tests_failed"`
	CompileErrors    int          `json:"compilation_errors"`
	TestFiles        int          `json:"test_files"`
	NoCache          bool         `json:"no_cache"`
	DurationMS       int64        `json:"duration_ms"`
	Modules          []historyMod `json:"modules"`
	GoPercent        *float64     `json:"go_percent,omitempty"`
	LLVMPercent      *float64     `json:"llvm_percent,omitempty"`
	Functions        *bool        `json:"function_coverage,omitempty"` // false for a run without TML coverage
}

// historyMod is one module's line in the history: name, total, covered.
type historyMod struct {
	N string `json:"n"`
	T int    `json:"t"`
	C int    `json:"c"`
}

// historyLine is what a history line is read as: TML's fields, and those
// volley wrote before it used TML's schema.
type historyLine struct {
	Timestamp        string   `json:"timestamp"`
	CoveragePercent  *float64 `json:"coverage_percent"`
	LibraryFunctions int      `json:"library_functions"`
	LibraryCovered   int      `json:"library_covered"`
	GoPercent        *float64 `json:"go_percent"`
	LLVMPercent      *float64 `json:"llvm_percent"`
	Functions        *bool    `json:"function_coverage"`
	// The old volley schema.
	Time        string   `json:"time"`
	Percent     *float64 `json:"percent"`
	Covered     int      `json:"covered"`
	Total       int      `json:"total"`
	OldFunction *bool    `json:"functions"`
}

// prevRun is the previous run as the delta needs it.
type prevRun struct {
	Percent     *float64
	Covered     int
	Total       int
	Functions   bool
	GoPercent   *float64
	LLVMPercent *float64
}

func (l *historyLine) run() (*prevRun, bool) {
	switch {
	case l.Timestamp != "":
		fn := l.Functions == nil || *l.Functions
		return &prevRun{Percent: l.CoveragePercent, Covered: l.LibraryCovered, Total: l.LibraryFunctions,
			Functions: fn, GoPercent: l.GoPercent, LLVMPercent: l.LLVMPercent}, true
	case l.Time != "":
		return &prevRun{Percent: l.Percent, Covered: l.Covered, Total: l.Total,
			Functions: l.OldFunction != nil && *l.OldFunction, GoPercent: l.GoPercent, LLVMPercent: l.LLVMPercent}, true
	}
	return nil, false
}

func (r *Report) historyEntry(now time.Time, noCache bool) (historyEntry, *prevRun) {
	s := &r.Totals
	h := historyEntry{
		Timestamp:   now.Format("2006-01-02T15:04:05.000"),
		TestsPassed: s.TestsPassed, TestsFailed: s.TestsFailed, TestFiles: s.TestFiles,
		NoCache: noCache, DurationMS: s.DurationMS, Modules: []historyMod{},
	}
	cur := &prevRun{Functions: r.hasFunctions()}
	if cur.Functions {
		h.LibraryFunctions, h.LibraryCovered, h.RuntimeCovered = s.LibraryFunctions, s.LibraryCovered, s.RuntimeCovered
		h.ModulesFull, h.ModulesPartial, h.ModulesZero = s.ModulesFull, s.ModulesPartial, s.ModulesZero
		if s.CoveragePercent != nil {
			p := ratio(s.LibraryCovered, s.LibraryFunctions)
			h.CoveragePercent = &fixed{p, 2}
			cur.Percent = s.CoveragePercent
		}
		for _, n := range r.order {
			if m := r.Modules[n]; m.Total > 0 {
				h.Modules = append(h.Modules, historyMod{n, m.Total, m.Covered})
			}
		}
		cur.Covered, cur.Total = s.LibraryCovered, s.LibraryFunctions
	} else {
		f := false
		h.Functions = &f
	}
	if r.Go != nil && r.Go.Problem == "" {
		h.GoPercent = &r.Go.Percent
	}
	if r.LLVM != nil && r.LLVM.Problem == "" {
		h.LLVMPercent = &r.LLVM.Percent
	}
	cur.GoPercent, cur.LLVMPercent = h.GoPercent, h.LLVMPercent
	return h, cur
}

// lastEntry reads the history's last valid line; nil when there is none.
// Lines that do not parse are skipped with a warning.
func lastEntry(path string, w *warner) *prevRun {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.add("coverage history: %v", err)
		}
		return nil
	}
	defer f.Close()
	var last *prevRun
	bad := 0
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var h historyLine
			if json.Unmarshal(line, &h) == nil {
				if run, ok := h.run(); ok {
					last = run
				} else {
					bad++
				}
			} else {
				bad++
			}
		}
		if err != nil {
			if err != io.EOF {
				w.add("coverage history %s: %v", path, err)
			}
			break
		}
	}
	if bad > 0 {
		w.add("coverage history %s: %s skipped", path, plural(bad, "unreadable line", "unreadable lines"))
	}
	return last
}

// readCovered reads the previous run's covered functions; nil when unknown.
func readCovered(path string) map[string]bool {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	set := map[string]bool{}
	if _, err := readNames(f, true, func(n string) { set[n] = true }); err != nil {
		return nil
	}
	return set
}

// appendHistory appends one line with a single write, so concurrent runs
// do not interleave.
func appendHistory(path string, h historyEntry) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// delta describes the change from prev to cur; prevSet is the previous
// covered functions when known.
func delta(prev *prevRun, cur *prevRun, prevSet map[string]bool, curSet []string) string {
	if prev == nil {
		return "coverage: first run in the history"
	}
	var lines []string
	if prev.Functions && cur.Functions {
		lines = append(lines, functionDelta(prev, cur, prevSet, curSet))
	}
	lines = append(lines, percentDelta("Go coverage", "of statements", prev.GoPercent, cur.GoPercent)...)
	lines = append(lines, percentDelta("LLVM coverage", "of lines", prev.LLVMPercent, cur.LLVMPercent)...)
	if len(lines) == 0 {
		return "coverage: nothing comparable with the previous run"
	}
	return strings.Join(lines, "\n")
}

func functionDelta(prev *prevRun, cur *prevRun, prevSet map[string]bool, curSet []string) string {
	var lost []string
	gained := 0
	if prevSet != nil {
		now := map[string]bool{}
		for _, n := range curSet {
			now[n] = true
			if !prevSet[n] {
				gained++
			}
		}
		for n := range prevSet {
			if !now[n] {
				lost = append(lost, n)
			}
		}
		slices.Sort(lost)
	}
	lostText := ""
	if len(lost) > 0 {
		lostText = fmt.Sprintf("%s no longer covered: %s", plural(len(lost), "function", "functions"), list(lost, 10))
	}
	var b strings.Builder
	if prev.Percent != nil && cur.Percent != nil {
		// Compare the fractions, not the rounded percentages.
		p, c := float64(prev.Covered)/math.Max(1, float64(prev.Total)), float64(cur.Covered)/math.Max(1, float64(cur.Total))
		d := *cur.Percent - *prev.Percent
		switch {
		case c < p:
			fmt.Fprintf(&b, "COVERAGE DROPPED: %.1f%% → %.1f%% (%s points", *prev.Percent, *cur.Percent, points(d))
			if lostText != "" {
				b.WriteString(", " + lostText)
			}
			b.WriteString(")")
			return b.String()
		case c > p:
			fmt.Fprintf(&b, "coverage: %.1f%% → %.1f%% (%s points", *prev.Percent, *cur.Percent, points(d))
			if prevSet != nil {
				fmt.Fprintf(&b, ", %s newly covered", plural(gained, "function", "functions"))
			}
			b.WriteString(")")
		default:
			fmt.Fprintf(&b, "coverage: unchanged at %.1f%% (%d of %d functions)", *cur.Percent, cur.Covered, cur.Total)
		}
	} else {
		switch d := cur.Covered - prev.Covered; {
		case d < 0:
			fmt.Fprintf(&b, "COVERAGE DROPPED: %d → %d functions covered (%d", prev.Covered, cur.Covered, d)
			if lostText != "" {
				b.WriteString(", " + lostText)
			}
			b.WriteString(")")
			return b.String()
		case d > 0:
			fmt.Fprintf(&b, "coverage: %d → %d functions covered (+%d)", prev.Covered, cur.Covered, d)
		default:
			fmt.Fprintf(&b, "coverage: unchanged at %d functions covered", cur.Covered)
		}
	}
	if lostText != "" {
		b.WriteString("; WARNING: " + lostText)
	}
	return b.String()
}

func percentDelta(name, unit string, prev, cur *float64) []string {
	if prev == nil || cur == nil {
		return nil
	}
	d := *cur - *prev
	switch {
	case d < 0:
		return []string{fmt.Sprintf("%s DROPPED: %.1f%% → %.1f%% %s (%s points)", strings.ToUpper(name), *prev, *cur, unit, points(d))}
	case d > 0:
		return []string{fmt.Sprintf("%s: %.1f%% → %.1f%% %s (%s points)", name, *prev, *cur, unit, points(d))}
	}
	return []string{fmt.Sprintf("%s: unchanged at %.1f%% %s", name, *cur, unit)}
}

// points shows a signed difference of percentages, never as a bare 0.
func points(d float64) string {
	s := fmt.Sprintf("%+.1f", d)
	if s == "+0.0" || s == "-0.0" {
		s = fmt.Sprintf("%+.2f", d)
	}
	return s
}

// writeCovered saves this run's covered set for the next run's delta.
func writeCovered(dir string, names []string) error {
	return writeFile(filepath.Join(dir, CoveredFile), func(w io.Writer) error {
		for _, n := range names {
			if _, err := io.WriteString(w, n+"\n"); err != nil {
				return err
			}
		}
		return nil
	})
}
