package quarantine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestAddRemoveList: names go in and out; removing a name that is not
// there names it and changes nothing; the file keeps its header.
func TestAddRemoveList(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created on the first Add
	if err := Add(dir, "b::2", "a", "b::2"); err != nil {
		t.Fatal(err)
	}
	if got, err := List(dir); err != nil || strings.Join(got, " ") != "a b::2" {
		t.Fatalf("List = %v, %v", got, err)
	}
	err := Remove(dir, "a", "nope")
	var nl *NotListedError
	if !errors.As(err, &nl) || strings.Join(nl.Names, " ") != "nope" || !strings.Contains(err.Error(), "nope is not in quarantine") {
		t.Errorf("Remove of a missing name: %v", err)
	}
	if got, _ := List(dir); strings.Join(got, " ") != "a b::2" {
		t.Errorf("a failed Remove changed the list: %v", got)
	}
	if err := Remove(dir, "a"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, FileName))
	if string(b) != header+"b::2\n" {
		t.Errorf("file:\n%s", b)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestConcurrentAdds: volleys editing the list at once (separate file
// descriptions, as separate processes have) lose none of each other's names.
func TestConcurrentAdds(t *testing.T) {
	dir := t.TempDir()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Add(dir, fmt.Sprintf("suite::%02d", i))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := List(dir)
	if err != nil || len(got) != n {
		t.Errorf("%d names after %d concurrent adds (%v): %v", len(got), n, err, got)
	}
}

// TestMatcher: the list and volley.toml's names together; a suite name
// quarantines all its tests; nothing listed is a nil matcher.
func TestMatcher(t *testing.T) {
	dir := t.TempDir()
	if m, err := Matcher(dir, nil); m != nil || err != nil {
		t.Errorf("empty: %v, %v", m != nil, err)
	}
	if err := Add(dir, "lexer::7"); err != nil {
		t.Fatal(err)
	}
	m, err := Matcher(dir, []string{"parser"})
	if err != nil || m == nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		suite, test string
		want        bool
	}{{"lexer", "7", true}, {"lexer", "8", false}, {"parser", "1", true}, {"parser", "", true}, {"other", "", false}} {
		if got := m(c.suite, c.test); got != c.want {
			t.Errorf("%s::%s: %v, want %v", c.suite, c.test, got, c.want)
		}
	}
}

// TestUnreadable: a list that cannot be read is an error naming it, not
// an empty list.
func TestUnreadable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	if err := os.Mkdir(p, 0o755); err != nil { // opens, but does not read
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("Read of an unreadable list: %v", err)
	}
	// The run still honours volley.toml's names.
	m, err := Matcher(dir, []string{"parser"})
	if err == nil || m == nil || !m("parser", "1") {
		t.Errorf("Matcher with an unreadable list: %v, %v", m != nil, err)
	}
}
