package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Merge folds the histories srcs into the state directory dst, under dst's
// writers' lock, and writes dst/history.json atomically. Each src is a
// history.json file or a directory holding one (a state directory, or a
// `volley test --output-dir` directory); a src that is missing, corrupt or
// of another version is an error, while a corrupt dst is rebuilt, as Save
// would. dst is created if needed, so the result of merging shard outputs
// into an empty directory is itself a state directory file: copy it to
// .volley/history.json, or import it with `volley history import`.
//
// The files are assumed to descend from one history: CI restores the last
// merged history, every shard runs once on top of it, and the shards'
// files are merged back. Hence:
//
//   - Run counters are aligned on the newest run: the merged counter is the
//     largest of all files', and a test or entry seen R runs before its own
//     file's latest run is seen R runs before the merged one. So tests that
//     any shard ran in its latest run count as seen in the latest run, and
//     pruning (KeepRuns, MaxTests) keeps what any file would keep.
//   - A suite's cache entry: the most recently recorded (Time) wins. When
//     both were recorded under the same key, their tests are united, each
//     test's outcome taken from the newer entry that has it; a different
//     key means the suite changed, and the newer entry replaces the older.
//   - A test's history: the record run most recently (LastRun) wins whole
//     (status, streaks, recent outcomes, moving-average duration and CPU,
//     which already fold in the common past); Runs is the larger of the
//     two and MaxRSS the larger peak. Histories that do not share a past
//     are merged the same way, undercounting Runs rather than inventing
//     runs twice.
//   - Memoized file hashes: the most recently used wins.
func Merge(dst string, srcs ...string) error {
	var in []*state
	for _, src := range srcs {
		st, err := loadSource(src)
		if err != nil {
			return err
		}
		in = append(in, st)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("merge history: %w", err)
	}
	unlock, err := lock(filepath.Join(dst, lockName))
	if err != nil {
		return fmt.Errorf("merge history: %w", err)
	}
	defer unlock()
	removeTemps(dst)
	path := filepath.Join(dst, fileName)
	base, _, err := load(path)
	if err != nil {
		return fmt.Errorf("merge history: %w", err)
	}
	if base == nil {
		base = newState()
	}
	st := mergeStates(append([]*state{base}, in...))
	st.prune(DefaultKeepRuns, DefaultMaxTests)
	if err := writeAtomic(dst, path, func(w io.Writer) error { return encodeState(w, st) }); err != nil {
		return fmt.Errorf("merge history: %w", err)
	}
	return nil
}

// loadSource reads one history to merge: a file, or dir/history.json.
func loadSource(src string) (*state, error) {
	path := src
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		path = filepath.Join(src, fileName)
	}
	st, warn, err := load(path)
	switch {
	case err != nil:
		return nil, fmt.Errorf("merge history %s: %w", src, err)
	case warn != "":
		return nil, fmt.Errorf("merge history: %s", warn)
	case st == nil:
		return nil, fmt.Errorf("merge history %s: %w", path, fs.ErrNotExist)
	}
	return st, nil
}

// mergeStates merges states as Merge describes; the inputs are not kept.
func mergeStates(sts []*state) *state {
	out := newState()
	for _, st := range sts {
		out.Run = max(out.Run, st.Run)
	}
	for _, st := range sts {
		shift := out.Run - st.Run // re-ages this file's counters
		for name, e := range st.Suites {
			e.Run += shift
			e.Suite = name
			out.Suites[name] = mergeEntry(out.Suites[name], e)
		}
		for suite, tests := range st.History {
			dt := out.History[suite]
			if dt == nil {
				dt = map[string]*TestHistory{}
				out.History[suite] = dt
			}
			for test, h := range tests {
				h.LastSeen += shift
				dt[test] = mergeTest(dt[test], h)
			}
		}
		for p, m := range st.Files {
			m.Seen += shift
			if old := out.Files[p]; old == nil || m.Seen > old.Seen {
				out.Files[p] = m
			}
		}
	}
	return out
}

// mergeEntry merges two cache entries of one suite.
func mergeEntry(a, b *SuiteEntry) *SuiteEntry {
	if a == nil {
		return b
	}
	older, newer := a, b
	if newer.Time.Before(older.Time) {
		older, newer = newer, older
	}
	if older.Key.Sum != newer.Key.Sum {
		return newer
	}
	m := newer.clone()
	m.Run = max(a.Run, b.Run)
	have := map[string]bool{}
	for _, t := range m.Tests {
		have[t.Test] = true
	}
	for _, t := range older.Tests {
		if !have[t.Test] {
			m.Tests = append(m.Tests, t)
		}
	}
	return m
}

// mergeTest merges two histories of one test.
func mergeTest(a, b *TestHistory) *TestHistory {
	if a == nil {
		return b
	}
	older, newer := a, b
	if newer.LastRun.Before(older.LastRun) {
		older, newer = newer, older
	}
	m := *newer
	m.Runs = max(a.Runs, b.Runs)
	m.MaxRSS = max(a.MaxRSS, b.MaxRSS)
	m.LastSeen = max(a.LastSeen, b.LastSeen)
	return &m
}

// Export copies the history of the state directory dir to the file path
// (written atomically), for `volley history export`. It fails when dir has
// no history.
func Export(dir, path string) error {
	data, err := ReadBounded(filepath.Join(dir, fileName), MaxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("export history: %s holds no history (run volley test first)", dir)
	}
	if err != nil {
		return fmt.Errorf("export history: %w", err)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil || st.Version != version {
		return fmt.Errorf("export history: %s/%s is corrupt or of another version (volley knows %d)", dir, fileName, version)
	}
	out := filepath.Dir(path)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("export history: %w", err)
	}
	if err := writeAtomic(out, path, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return fmt.Errorf("export history: %w", err)
	}
	return nil
}
