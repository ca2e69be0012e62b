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

// historyEntry is one line of the history: one run.
type historyEntry struct {
	Time        time.Time `json:"time"`
	Percent     *float64  `json:"percent,omitempty"` // functions, when the list is known
	Covered     int       `json:"covered"`
	Total       int       `json:"total"`
	Functions   bool      `json:"functions"` // the run had function coverage
	GoPercent   *float64  `json:"go_percent,omitempty"`
	LLVMPercent *float64  `json:"llvm_percent,omitempty"`
}

func (r *Report) historyEntry(now time.Time) historyEntry {
	h := historyEntry{Time: now.UTC().Truncate(time.Second), Functions: r.hasFunctions()}
	if h.Functions {
		h.Percent = r.Totals.CoveragePercent
		h.Covered = r.Totals.LibraryCovered
		h.Total = r.Totals.LibraryFunctions
	}
	if r.Go != nil && r.Go.Problem == "" {
		h.GoPercent = &r.Go.Percent
	}
	if r.LLVM != nil && r.LLVM.Problem == "" {
		h.LLVMPercent = &r.LLVM.Percent
	}
	return h
}

// lastEntry reads the history's last valid line; nil when there is none.
// Lines that do not parse are skipped with a warning.
func lastEntry(path string, w *warner) *historyEntry {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			w.add("coverage history: %v", err)
		}
		return nil
	}
	defer f.Close()
	var last *historyEntry
	bad := 0
	br := bufio.NewReader(f)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var h historyEntry
			if json.Unmarshal(line, &h) == nil && !h.Time.IsZero() {
				last = &h
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
func delta(prev *historyEntry, cur historyEntry, prevSet map[string]bool, curSet []string) string {
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

func functionDelta(prev *historyEntry, cur historyEntry, prevSet map[string]bool, curSet []string) string {
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
