package shard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/coverage"
	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/report"
)

// maxListed is how many test ids an overlap or gap message names.
const maxListed = 20

// Merged is what Merge made of the shards.
type Merged struct {
	Stats event.Stats // the totals of the merged results
	// Problems say how the shards fail to add up to the plan: tests run by
	// two shards, planned tests reported by none.
	Problems []string
	// Err is what kept merged files from being written.
	Err error
}

// shard is what one output directory holds.
type shard struct {
	dir  string
	plan Plan
	log  *report.Log
}

// Merge reads the output directories dirs and writes into out:
// events.json (every shard's log, one after another), junit.xml (rebuilt
// from the logs' results), history.json (the shards' histories merged) and,
// when shards collected coverage, the merged coverage. It prints the merged
// summary to stdout and warnings to stderr. An error means an input could
// not be read (nothing is written then); problems with the merge itself
// are in the result.
func Merge(out string, dirs []string, stdout, stderr io.Writer) (*Merged, error) {
	absOut, _ := filepath.Abs(out)
	var shards []*shard
	for _, d := range dirs {
		if abs, _ := filepath.Abs(d); abs == absOut {
			return nil, fmt.Errorf("merge: the output directory %s is also an input; choose another -o", out)
		}
		sh, err := readShard(d)
		if err != nil {
			return nil, err
		}
		shards = append(shards, sh)
	}
	checkShares(shards, stderr)
	results, problems := combine(shards)

	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	m := &Merged{Stats: mergedStats(shards, results), Problems: problems}
	var errs []error
	if err := concatLogs(shards, filepath.Join(out, OutEvents)); err != nil {
		errs = append(errs, err)
	}
	if err := writeJUnit(filepath.Join(out, OutJUnit), results, m.Stats); err != nil {
		errs = append(errs, err)
	}
	if err := mergeHistories(out, shards); err != nil {
		errs = append(errs, err)
	}
	if err := mergeCoverage(out, shards, results, stdout, stderr); err != nil {
		errs = append(errs, err)
	}
	m.Err = errors.Join(errs...)
	fmt.Fprintln(stdout, m.Stats.Summary())
	fmt.Fprintf(stdout, "merged %d shard(s) into %s: wall %.1fs (first start to last end), CPU %.1fs\n",
		len(shards), out, m.Stats.Wall.Seconds(), m.Stats.CPU.Seconds())
	return m, nil
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
	if sh.log, err = report.ReadLog(f, path); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	return sh, nil
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
		for _, r := range sh.log.Results {
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
		for _, r := range sh.log.Results {
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
		if sh.log.Run == nil {
			fmt.Fprintf(stderr, "volley: warning: %s: the event log has no end (the run was killed?)\n", sh.dir)
		} else if sh.log.Run.Interrupted {
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
		if !sh.log.Start.IsZero() && (s.Start.IsZero() || sh.log.Start.Before(s.Start)) {
			s.Start = sh.log.Start
		}
		if sh.log.End.After(end) {
			end = sh.log.End
		}
		if sh.log.Run != nil {
			s.CPU += sh.log.Run.CPU
		}
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
		b, err := os.ReadFile(filepath.Join(sh.dir, OutEvents))
		if err != nil {
			f.Close()
			return fmt.Errorf("merge: %w", err)
		}
		w.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("merge: %s: %w", path, err)
	}
	return f.Close()
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

// mergeCoverage merges the raw coverage the shards left in DIR/coverage
// (a coverage.Collector's raw files) into out/coverage, and prints the
// merged report's summary. Shards without coverage are passed over.
func mergeCoverage(out string, shards []*shard, picked []*event.Result, stdout, stderr io.Writer) error {
	var with []*shard
	for _, sh := range shards {
		if fi, err := os.Stat(coverage.RawDir(filepath.Join(sh.dir, OutCover))); err == nil && fi.IsDir() {
			with = append(with, sh)
		}
	}
	if len(with) == 0 {
		return nil
	}
	if len(with) < len(shards) {
		fmt.Fprintf(stderr, "volley: warning: only %d of %d shards have coverage data\n", len(with), len(shards))
	}
	col, err := coverage.NewCollector(coverage.Options{Dir: filepath.Join(out, OutCover)})
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	keep := map[*event.Result]bool{}
	for _, r := range picked {
		keep[r] = true
	}
	next := 1
	for _, sh := range with {
		ids, err := col.Import(coverage.RawDir(filepath.Join(sh.dir, OutCover)), next)
		if err != nil {
			return fmt.Errorf("merge: coverage of %s: %w", sh.dir, err)
		}
		next += len(ids)
		for _, r := range sh.log.Results {
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
