package coverage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// outputs are the files Merge writes; those of an earlier run are removed
// first so that none is mistaken for this run's.
var outputs = []string{
	JSONFile, HTMLFile, goCovdata, goProfile, goLCOV, goCobertura, goHTML,
	llvmProfdata, llvmLCOV, llvmCobertura, llvmHTML,
}

// Merge merges what the processes wrote, after the run, and writes the
// report files into the Collector's directory; see the package doc. Call it
// once. Problems with the data are warnings in the report, not errors; the
// error is for a report that could not be written or an interrupted merge.
func (c *Collector) Merge(ctx context.Context) (*Report, error) {
	snap := c.snapshot()
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return nil, fmt.Errorf("coverage: %w", err)
	}
	for _, o := range outputs {
		if err := os.RemoveAll(filepath.Join(c.dir, o)); err != nil {
			return nil, fmt.Errorf("coverage: remove stale %s: %w", o, err)
		}
	}
	r := &Report{Dir: c.dir}
	var wt, wg, wl warner
	var tml *tmlData
	var all []string
	var listErr error
	var group sync.WaitGroup
	group.Go(func() {
		tml = mergeTML(c.raw, snap, &wt)
		if c.o.Functions != "" {
			all, listErr = readFunctions(c.o.Functions, &wt)
		}
	})
	group.Go(func() { r.Go = c.mergeGo(ctx, snap, &wg) })
	group.Go(func() { r.LLVM = c.mergeLLVM(ctx, snap, &wl) })
	group.Wait()
	if listErr != nil {
		wt.add("function list: %v (coverage is given without percentages)", listErr)
		all = nil
	}

	var w warner
	w.list = append(w.list, snap.warnings...)
	if tml.files > 0 || all != nil || tml.tmlProcesses > 0 {
		r.buildModules(tml, all, c.o.Functions, &wt)
		if tml.files == 0 {
			wt.add("no process wrote a TML coverage file ($%s): every function counts as uncovered", TMLEnv)
		}
	}
	w.list = append(w.list, wt.list...)
	w.list = append(w.list, wg.list...)
	w.list = append(w.list, wl.list...)
	s := &r.Totals
	s.TestsPassed, s.TestsFailed = snap.passed, snap.failed
	s.FailedSuites = snap.failedSuites
	s.DurationMS = snap.duration.Milliseconds()
	s.CachedResults = snap.cached
	if snap.cached > 0 {
		w.add("%s served from the result cache: their coverage is not in this report (run without the cache for full coverage)",
			plural(snap.cached, "result was", "results were"))
	}
	if !r.hasFunctions() && r.Go == nil && r.LLVM == nil {
		w.add("no process wrote coverage data: are the suites built with coverage?")
		r.Warnings = w.list
		return r, ctx.Err()
	}

	now := time.Now()
	histPath := filepath.Join(c.dir, HistoryFile)
	prev := lastEntry(histPath, &w)
	var prevSet map[string]bool
	if r.hasFunctions() {
		prevSet = readCovered(filepath.Join(c.dir, CoveredFile))
	}
	cur := r.historyEntry(now)
	r.delta = delta(prev, cur, prevSet, r.Covered)
	if ctx.Err() == nil {
		if err := appendHistory(histPath, cur); err != nil {
			w.add("coverage history: %v", err)
		}
		if r.hasFunctions() {
			if err := writeCovered(c.dir, r.Covered); err != nil {
				w.add("coverage: %v", err)
			}
		}
	}
	r.Warnings = w.list
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	if r.Modules == nil {
		r.Modules = map[string]*Module{}
	}
	for _, f := range []struct {
		name string
		fill func(io.Writer) error
	}{
		{JSONFile, r.writeJSON},
		{HTMLFile, func(w io.Writer) error { return writeHTML(w, r, now) }},
	} {
		if err := writeFile(filepath.Join(c.dir, f.name), f.fill); err != nil {
			return r, fmt.Errorf("coverage: %w", err)
		}
		r.Files = append(r.Files, f.name)
	}
	if r.Go != nil {
		r.Files = append(r.Files, r.Go.Outputs...)
	}
	if r.LLVM != nil {
		r.Files = append(r.Files, r.LLVM.Outputs...)
	}
	r.Files = append(r.Files, HistoryFile)
	if err := ctx.Err(); err != nil {
		return r, fmt.Errorf("coverage merge interrupted: %w", err)
	}
	return r, nil
}
