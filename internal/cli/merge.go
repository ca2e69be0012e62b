package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/report"
)

// DefaultMergeDir is where `volley merge` writes without -o.
const DefaultMergeDir = "volley-merged"

// maxListed is how many test ids an overlap or gap message names.
const maxListed = 20

func newMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge [-o OUTDIR] DIR...",
		Short: "Combine the --output-dir directories of shards into one report",
		Long: `Merge the output directories of sharded runs (volley test --partition K/N
--output-dir DIR) into OUTDIR: events.json (every shard's event log, one after
another), junit.xml (rebuilt from the logs' results, reruns included),
history.json (the shards' histories merged: copy it to .volley/ or run
volley history import OUTDIR/history.json) and, when shards wrote DIR/coverage,
the merged coverage in OUTDIR/coverage.

It fails (exit 2, naming the tests) when the shards do not add up to the plan:
a test run by two shards, or a planned test reported by none; the merged files
are still written, for inspection. Otherwise it prints the merged summary and
exits 1 if a test failed, like volley test. Results every shard reports without
running them (cached, ignored) count once.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runMerge(out, args, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().StringVarP(&out, "output", "o", DefaultMergeDir, "write the merged files into `OUTDIR`")
	return c
}

// shard is what one output directory holds.
type shard struct {
	dir     string
	plan    shardPlan
	results []*event.Result // in log order; earlier attempts marked Retrying
	start   time.Time       // the log's first line
	end     time.Time       // its latest line
	cpu     time.Duration
	ended   bool // the log has its run's last line
	stopped bool // the run was interrupted
}

// runMerge is `volley merge`.
func runMerge(out string, dirs []string, stdout, stderr io.Writer) error {
	absOut, _ := filepath.Abs(out)
	var shards []*shard
	for _, d := range dirs {
		if abs, _ := filepath.Abs(d); abs == absOut {
			return usage(fmt.Errorf("merge: the output directory %s is also an input; choose another -o", out))
		}
		sh, err := readShard(d)
		if err != nil {
			return usage(err)
		}
		shards = append(shards, sh)
	}
	checkShares(shards, stderr)
	results, problems := combine(shards)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return usage(fmt.Errorf("merge: %w", err))
	}
	stats := mergedStats(shards, results)
	var errs []error
	if err := concatLogs(shards, filepath.Join(out, OutEvents)); err != nil {
		errs = append(errs, err)
	}
	if err := writeJUnit(filepath.Join(out, OutJUnit), results, stats); err != nil {
		errs = append(errs, err)
	}
	if err := mergeHistories(out, shards); err != nil {
		errs = append(errs, err)
	}
	if err := mergeCoverage(out, shards, results, stdout, stderr); err != nil {
		errs = append(errs, err)
	}

	fmt.Fprintln(stdout, stats.Summary())
	fmt.Fprintf(stdout, "merged %d shard(s) into %s: wall %.1fs (first start to last end), CPU %.1fs\n",
		len(shards), out, stats.Wall.Seconds(), stats.CPU.Seconds())
	if len(problems) > 0 {
		return usage(fmt.Errorf("merge: the shards do not add up to the plan:\n  %s", strings.Join(problems, "\n  ")))
	}
	if len(errs) > 0 {
		return usage(errors.Join(errs...))
	}
	return outcome(stats)
}

// readShard reads DIR/plan.json and DIR/events.json.
func readShard(dir string) (*shard, error) {
	sh := &shard{dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, OutPlan))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("merge: %s has no %s: is it a volley test --output-dir directory?", dir, OutPlan)
	}
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := json.Unmarshal(b, &sh.plan); err != nil {
		return nil, fmt.Errorf("merge: %s: %v", filepath.Join(dir, OutPlan), err)
	}
	path := filepath.Join(dir, OutEvents)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	defer f.Close()
	if err := sh.parseLog(f, path); err != nil {
		return nil, err
	}
	return sh, nil
}

// logLine is one line of the event log (see report.NewJSON).
type logLine struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed *float64
	Output  string
	Volley  json.RawMessage
}

// logResult is the "Volley" object of a test's pass, fail or skip line.
type logResult struct {
	Test        string   `json:"test"`
	Attempt     int      `json:"attempt"`
	Status      string   `json:"status"`
	Reason      string   `json:"reason"`
	ExitCode    int      `json:"exit_code"`
	Signal      string   `json:"signal"`
	CPUMs       int64    `json:"cpu_ms"`
	RSSKB       int64    `json:"rss_kb"`
	Slot        int      `json:"slot"`
	Proc        int      `json:"proc"`
	Cached      bool     `json:"cached"`
	Truncated   int64    `json:"output_dropped"`
	Flaky       bool     `json:"flaky"`
	Quarantined bool     `json:"quarantined"`
	Leaked      []string `json:"leaked"`
	Diagnostics string   `json:"diagnostics"`
}

// logRun is the "Volley" object of the log's last line.
type logRun struct {
	Run *struct {
		CPUMs       int64 `json:"cpu_ms"`
		Interrupted bool  `json:"interrupted"`
	} `json:"run"`
}

// parseLog turns the log's test lines back into results: a result's lines
// are written together (run, output..., pass|fail|skip), so the output
// between is the test's.
func (sh *shard) parseLog(r io.Reader, name string) error {
	br := bufio.NewReader(r)
	type open struct {
		start time.Time
		out   []string
	}
	running := map[[2]string]*open{}
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var l logLine
			if jerr := json.Unmarshal(line, &l); jerr != nil {
				return fmt.Errorf("merge: %s:%d: not an event log line: %v", name, n, jerr)
			}
			if !l.Time.IsZero() {
				if sh.start.IsZero() || l.Time.Before(sh.start) {
					sh.start = l.Time
				}
				if l.Time.After(sh.end) {
					sh.end = l.Time
				}
			}
			key := [2]string{l.Package, l.Test}
			switch {
			case l.Test != "" && l.Action == "run":
				running[key] = &open{start: l.Time}
			case l.Test != "" && l.Action == "output":
				if o := running[key]; o != nil {
					o.out = append(o.out, l.Output)
				}
			case l.Test != "" && (l.Action == "pass" || l.Action == "fail" || l.Action == "skip"):
				var v logResult
				if err := json.Unmarshal(l.Volley, &v); err != nil || v.Status == "" {
					return fmt.Errorf("merge: %s:%d: a test's %s line without volley's result", name, n, l.Action)
				}
				o := running[key]
				delete(running, key)
				if o == nil {
					o = &open{start: l.Time}
				}
				sh.results = append(sh.results, resultOf(l, v, o.start, o.out))
			case l.Test == "" && l.Action == "output" && len(l.Volley) > 0:
				var v logRun
				if json.Unmarshal(l.Volley, &v) == nil && v.Run != nil {
					sh.ended = true
					sh.stopped = v.Run.Interrupted
					sh.cpu = time.Duration(v.Run.CPUMs) * time.Millisecond
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("merge: read %s: %w", name, err)
		}
	}
	markAttempts(sh.results)
	return nil
}

// resultOf rebuilds a result from its end line and the output lines
// before it (less the lines the log adds: "=== RUN", the dropped-bytes
// note, the failure reason and "--- STATUS").
func resultOf(l logLine, v logResult, start time.Time, out []string) *event.Result {
	st, _ := event.ParseStatus(v.Status)
	r := &event.Result{
		Suite: l.Package, Test: v.Test, Status: st, Reason: v.Reason, Start: start,
		ExitCode: v.ExitCode, Signal: v.Signal, Proc: v.Proc, Slot: v.Slot, Attempt: max(v.Attempt, 1),
		CPU: time.Duration(v.CPUMs) * time.Millisecond, MaxRSS: v.RSSKB << 10, Cached: v.Cached,
		Truncated: v.Truncated, Flaky: v.Flaky, Quarantined: v.Quarantined, Leaked: v.Leaked,
		Diagnostics: v.Diagnostics,
	}
	if l.Elapsed != nil {
		r.Duration = time.Duration(*l.Elapsed * float64(time.Second))
	}
	if len(out) > 0 && strings.HasPrefix(out[0], "=== RUN") {
		out = out[1:]
	}
	if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "--- ") {
		out = out[:n-1]
	}
	if len(out) > 0 && r.Truncated > 0 && strings.HasPrefix(out[0], "[volley: ") {
		out = out[1:]
	}
	if n := len(out); n > 0 && st != event.Pass && strings.HasPrefix(out[n-1], "    "+v.Status+": ") {
		out = out[:n-1]
	}
	if len(out) > 0 {
		r.Output = []byte(strings.Join(out, ""))
	}
	return r
}

// markAttempts marks every attempt but a test's last as Retrying, and a
// last attempt that did not fail after failed ones as Flaky (when it
// passed).
func markAttempts(rs []*event.Result) {
	last := map[string]int{}
	for i, r := range rs {
		last[r.ID()] = i
	}
	failedBefore := map[string]bool{}
	for i, r := range rs {
		id := r.ID()
		if i != last[id] {
			r.Retrying = true
			failedBefore[id] = failedBefore[id] || r.Status.Failed()
			continue
		}
		r.Flaky = r.Flaky || r.Status == event.Pass && failedBefore[id]
	}
}

// combine picks each test's results from the one shard that ran it, and
// says how the shards fail to add up to the plan. Results decided without
// running (cached, ignored, unlistable: proc 0) are in every shard's log;
// they count once, and only when no shard ran the test.
func combine(shards []*shard) (results []*event.Result, problems []string) {
	ran := map[string]int{}
	preset := map[string]int{}
	var overlaps []string
	for i, sh := range shards {
		seen := map[string]bool{}
		for _, r := range sh.results {
			id := r.ID()
			if r.Proc == 0 {
				if _, ok := preset[id]; !ok {
					preset[id] = i
				}
				continue
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			if j, ok := ran[id]; ok {
				overlaps = append(overlaps, fmt.Sprintf("%s (%s, %s)", id, shards[j].dir, sh.dir))
				continue
			}
			ran[id] = i
		}
	}
	reported := map[string]bool{}
	suites := map[string]bool{}
	for i, sh := range shards {
		for _, r := range sh.results {
			id := r.ID()
			j, run := ran[id]
			if run && j != i || !run && preset[id] != i {
				continue
			}
			if run && r.Proc == 0 {
				continue // a cached copy of a test some shard ran
			}
			results = append(results, r)
			reported[id] = true
			suites[r.Suite] = true
		}
	}
	var missing []string
	planned := map[string]bool{}
	for _, sh := range shards {
		for _, id := range sh.plan.Planned {
			if planned[id] {
				continue
			}
			planned[id] = true
			// A whole-suite item is covered by any result of the suite
			// (tml reports suite::N).
			if !reported[id] && !suites[id] {
				missing = append(missing, id)
			}
		}
	}
	if len(overlaps) > 0 {
		sort.Strings(overlaps)
		problems = append(problems, fmt.Sprintf("%d test(s) reported by more than one shard: %s",
			len(overlaps), listIDs(overlaps)))
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		problems = append(problems, fmt.Sprintf("%d planned test(s) reported by no shard (a shard missing, failed or cut short?): %s",
			len(missing), listIDs(missing)))
	}
	return results, problems
}

func listIDs(ids []string) string {
	if len(ids) <= maxListed {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:maxListed], ", ") + fmt.Sprintf(", and %d more", len(ids)-maxListed)
}

// checkShares warns when the shards were not cut the same way, or some
// shard of K/N is not among them; the plan check then says what is lost.
func checkShares(shards []*shard, stderr io.Writer) {
	total, ks := 0, map[int]string{}
	ways := map[string]bool{}
	for _, sh := range shards {
		if !sh.ended {
			fmt.Fprintf(stderr, "volley: warning: %s: the event log has no end (the run was killed?)\n", sh.dir)
		} else if sh.stopped {
			fmt.Fprintf(stderr, "volley: warning: %s: the run was interrupted\n", sh.dir)
		}
		if sh.plan.Share == "" {
			continue
		}
		var k, n int
		if _, err := fmt.Sscanf(sh.plan.Share, "shard %d/%d", &k, &n); err != nil {
			continue
		}
		strategy, _, _ := strings.Cut(sh.plan.Partition, ":")
		ways[fmt.Sprintf("%s /%d", strategy, n)] = true
		total = n
		if prev, dup := ks[k]; dup {
			fmt.Fprintf(stderr, "volley: warning: %s and %s are both shard %d/%d\n", prev, sh.dir, k, n)
		}
		ks[k] = sh.dir
	}
	if len(ways) > 1 {
		fmt.Fprintf(stderr, "volley: warning: the shards were not cut the same way (%d different partitions)\n", len(ways))
		return
	}
	for k := 1; k <= total; k++ {
		if _, ok := ks[k]; !ok {
			fmt.Fprintf(stderr, "volley: warning: no shard %d/%d among the directories\n", k, total)
		}
	}
}

// mergedStats are the totals of the merged results; Start is the first
// shard's start and Wall runs to the last shard's end.
func mergedStats(shards []*shard, results []*event.Result) event.Stats {
	var s event.Stats
	var end time.Time
	for _, sh := range shards {
		if !sh.start.IsZero() && (s.Start.IsZero() || sh.start.Before(s.Start)) {
			s.Start = sh.start
		}
		if sh.end.After(end) {
			end = sh.end
		}
		s.CPU += sh.cpu
	}
	if !s.Start.IsZero() {
		s.Wall = end.Sub(s.Start)
	}
	suites := map[string]bool{}
	for _, r := range results {
		s.Count(r)
		suites[r.Suite] = true
	}
	s.Suites, s.SuitesDone = len(suites), len(suites)
	return s
}

// concatLogs writes every shard's event log, one after another.
func concatLogs(shards []*shard, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	w := bufio.NewWriter(f)
	for _, sh := range shards {
		in, err := os.Open(filepath.Join(sh.dir, OutEvents))
		if err != nil {
			f.Close()
			return fmt.Errorf("merge: %w", err)
		}
		n, err := io.Copy(w, in)
		in.Close()
		if err != nil {
			f.Close()
			return fmt.Errorf("merge: %s: %w", path, err)
		}
		if n > 0 && !endsWithNewline(filepath.Join(sh.dir, OutEvents)) {
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("merge: %s: %w", path, err)
	}
	return f.Close()
}

func endsWithNewline(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	b := make([]byte, 1)
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return true
	}
	if _, err := f.ReadAt(b, fi.Size()-1); err != nil {
		return true
	}
	return b[0] == '\n'
}

// writeJUnit feeds the results through the JUnit reporter as a run would.
func writeJUnit(path string, results []*event.Result, final event.Stats) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	j := report.NewJUnit(f)
	running := event.Stats{Start: final.Start, Suites: final.Suites}
	j.Event(&event.Event{Kind: event.RunStart, Time: final.Start, Stats: running})
	for _, r := range results {
		running.Count(r)
		j.Event(&event.Event{Kind: event.TestEnd, Time: r.Start.Add(r.Duration), Suite: r.Suite, Test: r.Test,
			Result: r, Stats: running})
	}
	j.Event(&event.Event{Kind: event.RunEnd, Time: final.Start.Add(final.Wall), Stats: final})
	err = j.Close()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("merge: %s: %w", path, err)
	}
	return nil
}

// mergeHistories merges the shards' history.json into out/history.json,
// replacing what an earlier merge left there.
func mergeHistories(out string, shards []*shard) error {
	var srcs []string
	for _, sh := range shards {
		p := filepath.Join(sh.dir, OutHistory)
		if _, err := os.Stat(p); err == nil {
			srcs = append(srcs, p)
		}
	}
	dst := filepath.Join(out, OutHistory)
	if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("merge: %w", err)
	}
	if len(srcs) == 0 {
		return nil
	}
	// Merge in a scratch state directory, so that out gets history.json
	// and not the state directory's lock file.
	tmp, err := os.MkdirTemp(out, ".history-")
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := cache.Merge(tmp, srcs...); err != nil {
		return err
	}
	return os.Rename(filepath.Join(tmp, OutHistory), dst)
}

// mergeCoverage merges the raw coverage the shards left in DIR/coverage/raw
// (the layout of a coverage.Collector whose Dir is DIR/coverage) into
// out/coverage, renumbering processes so that the shards' ids do not
// collide, and prints the merged report's summary. Shards without coverage
// are passed over.
func mergeCoverage(out string, shards []*shard, picked []*event.Result, stdout, stderr io.Writer) error {
	var with []*shard
	for _, sh := range shards {
		if fi, err := os.Stat(filepath.Join(sh.dir, "coverage", "raw")); err == nil && fi.IsDir() {
			with = append(with, sh)
		}
	}
	if len(with) == 0 {
		return nil
	}
	if len(with) < len(shards) {
		fmt.Fprintf(stderr, "volley: warning: only %d of %d shards have coverage data\n", len(with), len(shards))
	}
	col, err := coverage.NewCollector(coverage.Options{Dir: filepath.Join(out, "coverage")})
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	keep := map[*event.Result]bool{}
	for _, r := range picked {
		keep[r] = true
	}
	next := 0
	for _, sh := range with {
		ids, err := copyRawCoverage(col, filepath.Join(sh.dir, "coverage", "raw"), &next)
		if err != nil {
			return fmt.Errorf("merge: coverage of %s: %w", sh.dir, err)
		}
		for _, r := range sh.results {
			if keep[r] && !r.Retrying {
				c := *r
				c.Proc = ids[r.Proc]
				col.Observe(&c)
			}
		}
	}
	rep, err := col.Merge(context.Background())
	if err != nil {
		return fmt.Errorf("merge: coverage: %w", err)
	}
	fmt.Fprintln(stdout, rep.Summary())
	return nil
}

// copyRawCoverage copies one shard's raw coverage files into the
// collector's, each process under a new id (from *next on); it returns the
// old-to-new id map.
func copyRawCoverage(col *coverage.Collector, raw string, next *int) (map[int]int, error) {
	type procFiles struct {
		suite, protocol string
		tml, gocov      []string
		llvm            []string // file names: ID-rest.profraw
	}
	procs := map[int]*procFiles{}
	get := func(id int) *procFiles {
		if procs[id] == nil {
			procs[id] = &procFiles{}
		}
		return procs[id]
	}
	tmls, _ := filepath.Glob(filepath.Join(raw, "tml", "*.txt"))
	for _, f := range tmls {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		i := strings.LastIndexByte(name, '-')
		id, err := strconv.Atoi(name[i+1:])
		if i < 0 || err != nil {
			continue
		}
		p := get(id)
		p.suite, p.protocol = name[:i], "tml"
		p.tml = append(p.tml, f)
	}
	gos, _ := os.ReadDir(filepath.Join(raw, "go"))
	for _, e := range gos {
		if id, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			files, _ := filepath.Glob(filepath.Join(raw, "go", e.Name(), "*"))
			get(id).gocov = append(get(id).gocov, files...)
		}
	}
	llvms, _ := filepath.Glob(filepath.Join(raw, "llvm", "*.profraw"))
	for _, f := range llvms {
		prefix, _, _ := strings.Cut(filepath.Base(f), "-")
		if id, err := strconv.Atoi(prefix); err == nil {
			get(id).llvm = append(get(id).llvm, filepath.Base(f))
		}
	}
	old := make([]int, 0, len(procs))
	for id := range procs {
		old = append(old, id)
	}
	sort.Ints(old)
	ids := map[int]int{}
	for _, id := range old {
		p := procs[id]
		*next++
		ids[id] = *next
		suite := p.suite
		if suite == "" {
			suite = "?"
		}
		env, done := col.Env(&protocol.Unit{Suite: &protocol.Suite{Name: suite, Protocol: p.protocol}}, *next)
		dest := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			dest[k] = v
		}
		var err error
		for _, f := range p.tml {
			err = errors.Join(err, appendFile(f, dest[coverage.TMLEnv]))
		}
		for _, f := range p.gocov {
			err = errors.Join(err, copyFile(f, filepath.Join(dest[coverage.GoEnv], filepath.Base(f))))
		}
		llvmDir := filepath.Dir(dest[coverage.LLVMEnv])
		for _, name := range p.llvm {
			_, rest, _ := strings.Cut(name, "-")
			err = errors.Join(err, copyFile(filepath.Join(raw, "llvm", name), filepath.Join(llvmDir, fmt.Sprintf("%d-%s", *next, rest))))
		}
		done()
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// appendFile appends the content of from to the file to.
func appendFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
