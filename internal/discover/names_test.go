package discover

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/protocol"
)

func TestUniqueNames(t *testing.T) {
	paths := []string{"/r/a/x/t", "/r/b/x/t", "/r/c/y/t", "/r/d/u", "/t"}
	var ss []*protocol.Suite
	for _, p := range paths {
		ss = append(ss, &protocol.Suite{Name: protocol.SuiteName(p), Path: p})
	}
	uniqueNames(ss)
	var got []string
	for _, s := range ss {
		got = append(got, s.Name)
	}
	want := []string{"a/x/t", "b/x/t", "y/t", "u", "/t"}
	if !slices.Equal(got, want) {
		t.Errorf("names %v, want %v", got, want)
	}
}

func TestReadNames(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "suite")
	if names, err := readNames(exe); names != nil || err != nil {
		t.Fatalf("no sidecar: %v %v", names, err)
	}
	os.WriteFile(exe+NamesSuffix, []byte("alpha\n\n  beta \r\ngamma"), 0o644)
	names, err := readNames(exe)
	if err != nil || !slices.Equal(names, []string{"alpha", "beta", "gamma"}) {
		t.Fatalf("names %q, %v", names, err)
	}
	os.WriteFile(exe+NamesSuffix, []byte("a\nb\na\n"), 0o644)
	if _, err := readNames(exe); err == nil || !strings.Contains(err.Error(), "suite.names:3") {
		t.Errorf("duplicate: %v", err)
	}
	os.WriteFile(exe+NamesSuffix, []byte("\n\n"), 0o644)
	if _, err := readNames(exe); err == nil {
		t.Error("empty list accepted")
	}
}

func TestSidecarNames(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "suite")
	os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(exe+NamesSuffix, []byte("first\nsecond\n"), 0o644)
	res, err := Discover(Request{Cwd: dir, Args: []string{exe}, Protocol: "tml"})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Suites[0]
	if !slices.Equal(s.TestNames, []string{"first", "second"}) || s.KnownCount != 2 {
		t.Errorf("names %v count %d", s.TestNames, s.KnownCount)
	}
}

func TestGlobRecurses(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"data/a.txt", "data/sub/b.txt", "data/sub/deeper/c.txt", "other/d.txt"} {
		write(t, filepath.Join(dir, f), "x", 0o644)
	}
	ms, err := glob("data/**/*.txt", dir)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, m := range ms {
		r, _ := filepath.Rel(dir, m)
		rel = append(rel, filepath.ToSlash(r))
	}
	want := []string{"data/a.txt", "data/sub/b.txt", "data/sub/deeper/c.txt"}
	if !slices.Equal(rel, want) {
		t.Errorf("data/**/*.txt = %v, want %v", rel, want)
	}
	ms, _ = glob("data/**", dir)
	found := false
	for _, m := range ms {
		found = found || strings.HasSuffix(m, "deeper/c.txt")
	}
	if !found {
		t.Errorf("data/** misses deep files: %v", ms)
	}
	if _, err := glob("data/[", dir); err == nil {
		t.Error("bad pattern accepted")
	}
}
