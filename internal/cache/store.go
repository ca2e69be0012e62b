package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/volley-test/volley/internal/event"
)

const (
	fileName = "history.json"
	lockName = "lock"
	tmpGlob  = fileName + ".tmp-*"
	version  = 1

	// DefaultKeepRuns is how many runs a test may go unseen before its
	// history and cache entry are pruned.
	DefaultKeepRuns = 30
	// DefaultMaxTests caps the tests remembered; the least recently seen go
	// first.
	DefaultMaxTests = 200_000
)

// state is the content of history.json.
type state struct {
	Version int `json:"version"`
	// Run counts the saves that recorded something: the run counter that
	// LastSeen fields refer to.
	Run     int64                              `json:"run"`
	Suites  map[string]*SuiteEntry             `json:"suites"`
	History map[string]map[string]*TestHistory `json:"history"`
	Files   map[string]*memo                   `json:"files"`
}

func newState() *state {
	return &state{
		Version: version,
		Suites:  map[string]*SuiteEntry{},
		History: map[string]map[string]*TestHistory{},
		Files:   map[string]*memo{},
	}
}

// Store is volley's memory under a state directory. Queries see what was on
// disk at Open plus this session's records; Save merges the records into
// whatever is on disk then. A Store is safe for concurrent use.
type Store struct {
	// KeepRuns and MaxTests bound the file; they default to DefaultKeepRuns
	// and DefaultMaxTests and may be changed before Save.
	KeepRuns int
	MaxTests int

	dir    string
	mu     sync.Mutex
	st     *state
	loaded stamp // of the file st was read from; zero when none
	ops    []record
	hasher *Hasher
}

// Open loads the store in dir. A missing directory or file is an empty
// store (nothing is created until Save). A corrupt, truncated or
// unknown-version file is not an error: it yields a warning and an empty
// store that Save will write anew. The error is for a file that cannot be
// read at all.
func Open(dir string) (*Store, []string, error) {
	path := filepath.Join(dir, fileName)
	st, stp, warn, err := loadStamped(path)
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	if warn != "" {
		warnings = append(warnings, warn)
	}
	if st == nil {
		st = newState()
	}
	files := st.Files
	st.Files = nil // the hasher owns the memo from now on
	return &Store{
		KeepRuns: DefaultKeepRuns,
		MaxTests: DefaultMaxTests,
		dir:      dir,
		st:       st,
		loaded:   stp,
		hasher:   newHasher(files),
	}, warnings, nil
}

// load reads a state file: nil and no warning when there is none, nil and
// a warning when it is unusable.
func load(path string) (*state, string, error) {
	st, _, warn, err := loadStamped(path)
	return st, warn, err
}

// loadStamped is load, also returning the stamp of the file it read (zero
// when it read none or none usable).
func loadStamped(path string) (*state, stamp, string, error) {
	data, stp, err := readStamped(path, MaxStateSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, stamp{}, "", nil
	}
	var odd *NotRegularError
	if errors.As(err, &odd) || errors.Is(err, ErrTooBig) {
		return nil, stamp{}, fmt.Sprintf("history file %v; starting a new one", err), nil
	}
	if err != nil {
		return nil, stamp{}, "", fmt.Errorf("read history: %w", err)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, stamp{}, fmt.Sprintf("history file %s is corrupt (%v); starting a new one", path, err), nil
	}
	if st.Version != version {
		return nil, stamp{}, fmt.Sprintf("history file %s has version %d, this volley knows %d; starting a new one", path, st.Version, version), nil
	}
	st.normalize()
	return st, stp, "", nil
}

// normalize makes a decoded state safe to use: no nil maps or entries.
func (st *state) normalize() {
	if st.Suites == nil {
		st.Suites = map[string]*SuiteEntry{}
	}
	if st.History == nil {
		st.History = map[string]map[string]*TestHistory{}
	}
	if st.Files == nil {
		st.Files = map[string]*memo{}
	}
	for k, e := range st.Suites {
		if e == nil {
			delete(st.Suites, k)
		} else {
			e.Suite = k
		}
	}
	for s, tests := range st.History {
		for t, h := range tests {
			if h == nil {
				delete(tests, t)
			}
		}
		if len(tests) == 0 {
			delete(st.History, s)
		}
	}
	for p, m := range st.Files {
		if m == nil {
			delete(st.Files, p)
		}
	}
}

// Dir is the store's state directory.
func (s *Store) Dir() string { return s.dir }

// Hasher returns the store's hasher, whose memo is saved with the store.
func (s *Store) Hasher() *Hasher { return s.hasher }

// Save writes this session's records to disk, merged with what another
// volley may have written since Open, under an exclusive lock on dir/lock.
// The file is written to a temporary file, fsynced and renamed into place,
// so readers and crashed writers never leave a half-written history. Tests
// not seen in the last KeepRuns runs, and the least recently seen beyond
// MaxTests, are pruned. Save with nothing recorded and no file hashed
// writes nothing.
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.hasher.takeUsed()
	if len(s.ops) == 0 && len(used) == 0 {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("save history: %w", err)
	}
	unlock, err := lock(filepath.Join(s.dir, lockName))
	if err != nil {
		return fmt.Errorf("save history: %w", err)
	}
	defer unlock()
	removeTemps(s.dir) // under the lock, any temp file is a crashed writer's

	path := filepath.Join(s.dir, fileName)
	var st *state
	if fi, err := os.Stat(path); err == nil && s.loaded != (stamp{}) && stampOf(fi) == s.loaded {
		// Nobody saved since this store read the file: its state, with
		// the ops already applied by Record, is what reading the file
		// again and replaying them would make, without holding the
		// history twice.
		st = s.st
		st.Files = s.hasher.snapshot()
		if len(s.ops) > 0 {
			st.Run++
		}
	} else {
		// The file is read again (another run saved meanwhile) and the
		// ops replayed onto it; the state read at the start is let go
		// first rather than held twice.
		s.st = newState()
		st, _, err = load(path)
		if err != nil {
			return fmt.Errorf("save history: %w", err)
		}
		if st == nil { // missing (cleaned meanwhile) or unusable: start anew
			st = newState()
		}
		if len(s.ops) > 0 {
			st.Run++
		}
		for _, op := range s.ops {
			op.apply(st, st.Run)
		}
	}
	for p, m := range used {
		m.Seen = st.Run
		st.Files[p] = m
	}
	st.prune(s.keepRuns(), s.maxTests())

	if err := writeAtomic(s.dir, path, func(w io.Writer) error { return encodeState(w, st) }); err != nil {
		s.loaded = stamp{} // st may hold this run's ops twice over: never reuse it
		return fmt.Errorf("save history: %w", err)
	}
	st.Files = nil
	s.st = st
	s.loaded = stamp{}
	if fi, err := os.Stat(path); err == nil {
		s.loaded = stampOf(fi)
	}
	s.ops = nil
	return nil
}

func (s *Store) keepRuns() int64 {
	if s.KeepRuns <= 0 {
		return DefaultKeepRuns
	}
	return int64(s.KeepRuns)
}

func (s *Store) maxTests() int {
	if s.MaxTests <= 0 {
		return DefaultMaxTests
	}
	return s.MaxTests
}

// writeAtomic replaces path with data: temp file, fsync, rename, fsync dir.
func writeAtomic(dir, path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(dir, tmpGlob)
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: the rename is durable once the directory is
		d.Close()
	}
	return nil
}

func removeTemps(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, tmpGlob))
	for _, t := range tmps {
		os.Remove(t)
	}
}

// prune drops what was not seen in the last keep runs, then the least
// recently seen tests beyond max, then cache entries and file hashes
// likewise.
func (st *state) prune(keep int64, max int) {
	cutoff := st.Run - keep // seen at or before cutoff: forgotten
	type aged struct {
		suite, test string
		seen        int64
	}
	var all []aged
	for suite, tests := range st.History {
		for test, h := range tests {
			if h.LastSeen <= cutoff {
				delete(tests, test)
				continue
			}
			all = append(all, aged{suite, test, h.LastSeen})
		}
	}
	if len(all) > max {
		sort.Slice(all, func(i, j int) bool {
			a, b := all[i], all[j]
			if a.seen != b.seen {
				return a.seen < b.seen
			}
			if a.suite != b.suite {
				return a.suite < b.suite
			}
			return a.test < b.test
		})
		for _, a := range all[:len(all)-max] {
			delete(st.History[a.suite], a.test)
		}
	}
	for suite, tests := range st.History {
		if len(tests) == 0 {
			delete(st.History, suite)
		}
	}
	for suite, e := range st.Suites {
		if e.Run <= cutoff || st.History[suite] == nil {
			delete(st.Suites, suite)
			continue
		}
		// A test pruned from history is pruned from the entry too.
		kept := e.Tests[:0]
		for _, t := range e.Tests {
			if st.History[suite][t.Test] != nil {
				kept = append(kept, t)
			}
		}
		e.Tests = kept
	}
	var files []string
	for p, m := range st.Files {
		if m.Seen <= cutoff {
			delete(st.Files, p)
		} else {
			files = append(files, p)
		}
	}
	if len(files) > max {
		sort.Slice(files, func(i, j int) bool {
			a, b := st.Files[files[i]], st.Files[files[j]]
			if a.Seen != b.Seen {
				return a.Seen < b.Seen
			}
			return files[i] < files[j]
		})
		for _, p := range files[:len(files)-max] {
			delete(st.Files, p)
		}
	}
}

// Clean forgets everything stored in dir (`volley cache clean`). It takes
// the writers' lock, so it never interleaves with a Save; the lock file
// itself stays.
func Clean(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	unlock, err := lock(filepath.Join(dir, lockName))
	if err != nil {
		return fmt.Errorf("clean cache: %w", err)
	}
	defer unlock()
	removeTemps(dir)
	if err := os.Remove(filepath.Join(dir, fileName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clean cache: %w", err)
	}
	return nil
}

// Stats describe a store, for `volley cache stats`.
type Stats struct {
	Dir     string
	Runs    int64 // runs recorded
	Suites  int   // suites with a cache entry
	Tests   int   // tests with history
	Cached  int   // recorded results that can be served from the cache
	Failing int   // tests whose last run failed
	Files   int   // memoized file hashes
	Bytes   int64 // size of the history file on disk
}

// Stats describes the store as this session sees it.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Dir: s.dir, Runs: s.st.Run, Suites: len(s.st.Suites)}
	for _, tests := range s.st.History {
		st.Tests += len(tests)
		for _, h := range tests {
			if failed(h.LastStatus) {
				st.Failing++
			}
		}
	}
	for _, e := range s.st.Suites {
		for _, t := range e.Tests {
			if !failed(t.Status) {
				st.Cached++
			}
		}
	}
	s.hasher.mu.Lock()
	st.Files = len(s.hasher.memo)
	s.hasher.mu.Unlock()
	if fi, err := os.Stat(filepath.Join(s.dir, fileName)); err == nil {
		st.Bytes = fi.Size()
	}
	return st
}

// failed reports whether a recorded status string counts as a failure;
// anything but PASS and SKIP does, including what this volley cannot parse.
func failed(status string) bool {
	st, ok := event.ParseStatus(status)
	return !ok || st.Failed()
}
