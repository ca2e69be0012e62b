package coverage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// outputs are the toolchains' files Merge writes; those of an earlier run
// are removed first so that none is mistaken for this run's. The JSON and
// HTML reports are replaced only when a new one is written.
var outputs = []string{
	goCovdata, goProfile, goLCOV, goCobertura, goHTML,
	llvmProfdata, llvmLCOV, llvmCobertura, llvmHTML,
}

// jsonName is the JSON report's name beside the HTML report html: the
// same name with .json, as TML names it.
func jsonName(html string) string {
	return strings.TrimSuffix(html, filepath.Ext(html)) + ".json"
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
	r := &Report{Dir: c.dir, html: c.o.HTMLName}
	var wt, wg, wl warner
	var tml *tmlData
	var mods []srcModule
	var listErr error
	var group sync.WaitGroup
	group.Go(func() {
		tml = mergeTML(c.raw, snap, &wt)
		switch {
		case c.o.Functions != "":
			var all []string
			if all, listErr = readFunctions(c.o.Functions, &wt); listErr == nil {
				mods = listModules(all)
			}
		case len(c.o.Sources) > 0:
			var missing []string
			mods, missing, listErr = scanSources(c.o.Sources)
			for _, m := range missing {
				wt.add("coverage source %s: no such directory, not scanned", m)
			}
			if listErr == nil && mods == nil {
				wt.add("no TML function definitions found in %s: coverage is given without percentages", strings.Join(c.o.Sources, ", "))
			}
		}
	})
	group.Go(func() { r.Go = c.mergeGo(ctx, snap, &wg) })
	group.Go(func() { r.LLVM = c.mergeLLVM(ctx, snap, &wl) })
	group.Wait()
	if listErr != nil {
		wt.add("function list: %v (coverage is given without percentages)", listErr)
		mods = nil
	}

	var w warner
	w.list = append(w.list, snap.warnings...)
	if tml.files > 0 || mods != nil || tml.tmlProcesses > 0 {
		r.buildModules(tml, mods, c.o.Functions != "", c.o.Functions, &wt)
		if tml.files == 0 {
			wt.add("no process wrote a TML coverage file ($%s): every function counts as uncovered", TMLEnv)
		}
		silentProcesses(tml, snap, &wt)
	}
	w.list = append(w.list, wt.list...)
	w.list = append(w.list, wg.list...)
	w.list = append(w.list, wl.list...)
	s := &r.Totals
	s.TestsPassed, s.TestsFailed, s.TestFiles = snap.weighed, snap.failed, snap.tests
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
	// As TML does, a run that covered no function at all leaves the
	// function report and the history as they were: its instrumentation,
	// not the library, is what is broken.
	keep := r.hasFunctions() && len(r.Covered) == 0 && r.Go == nil && r.LLVM == nil
	if keep {
		w.add("no function was covered: %s, %s and %s left as they were", r.html, jsonName(r.html), HistoryFile)
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
	line, cur := r.historyEntry(now, c.o.NoCache)
	r.delta = delta(prev, cur, prevSet, r.Covered)
	if ctx.Err() == nil {
		if err := appendHistory(histPath, line); err != nil {
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
		{jsonName(r.html), r.writeJSON},
		{r.html, func(w io.Writer) error { return writeHTML(w, r, now) }},
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
