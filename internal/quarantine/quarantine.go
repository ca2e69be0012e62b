// Package quarantine keeps the list of quarantined tests: they run and are
// reported, but their failures do not fail the run. The list is a text file
// in the state directory, one name a line (suite::test, or a suite for all
// its tests), rewritten under the state directory's lock.
package quarantine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/event"
)

// FileName is the list's file in the state directory.
const FileName = "quarantine.txt"

const header = "# tests in quarantine: they run, but their failures do not fail the run\n"

// maxList bounds what is read of the list.
const maxList = 64 << 20

// Read returns the names in dir's list; no list is an empty one.
func Read(dir string) (map[string]bool, error) {
	set := map[string]bool{}
	path := filepath.Join(dir, FileName)
	data, err := cache.ReadBounded(path, maxList)
	if errors.Is(err, fs.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quarantine: read %s: %w", path, err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if l := strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			set[l] = true
		}
	}
	return set, nil
}

// List returns dir's list, sorted.
func List(dir string) ([]string, error) {
	set, err := Read(dir)
	if err != nil {
		return nil, err
	}
	return sorted(set), nil
}

// Add puts names in dir's list.
func Add(dir string, names ...string) error {
	return edit(dir, func(set map[string]bool) error {
		for _, n := range names {
			set[n] = true
		}
		return nil
	})
}

// Remove takes names out of dir's list. A name not in it is an error
// naming it, and the list is left as it was.
func Remove(dir string, names ...string) error {
	return edit(dir, func(set map[string]bool) error {
		var missing []string
		for _, n := range names {
			if !set[n] {
				missing = append(missing, n)
			}
			delete(set, n)
		}
		if len(missing) > 0 {
			return &NotListedError{Names: missing}
		}
		return nil
	})
}

// NotListedError is Remove's error for names that are not in quarantine.
type NotListedError struct{ Names []string }

func (e *NotListedError) Error() string {
	verb := "are"
	if len(e.Names) == 1 {
		verb = "is"
	}
	return fmt.Sprintf("%s %s not in quarantine (see volley quarantine list)", strings.Join(e.Names, ", "), verb)
}

// edit changes the list under the state directory's lock: read, change,
// write a temporary file, rename it over the list.
func edit(dir string, change func(map[string]bool) error) error {
	unlock, err := cache.LockDir(dir)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	defer unlock()
	set, err := Read(dir)
	if err != nil {
		return err
	}
	if err := change(set); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(header)
	for _, id := range sorted(set) {
		b.WriteString(id + "\n")
	}
	tmp, err := os.CreateTemp(dir, FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	_, err = tmp.WriteString(b.String())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, FileName))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// Matcher returns whether a test is quarantined, by dir's list and extra
// names (volley.toml's quarantine), or nil when both are empty. When the
// list cannot be read, it returns the matcher of extra alone and the error.
func Matcher(dir string, extra []string) (func(suite, test string) bool, error) {
	set, err := Read(dir)
	if err != nil {
		set = map[string]bool{}
	}
	for _, q := range extra {
		set[q] = true
	}
	if len(set) == 0 {
		return nil, err
	}
	return func(suite, test string) bool { return set[suite] || set[event.ID(suite, test)] }, err
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
