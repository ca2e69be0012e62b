package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/event"
)

// historyCmd runs `volley history ARGS` in process.
func historyCmd(args ...string) (string, int) {
	c := newHistoryCmd()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(&out)
	c.SetArgs(args)
	err := c.Execute()
	if err != nil && !isExitError(err) {
		err = usage(err)
	}
	code := ExitCode(err, &out)
	return out.String(), code
}

func TestHistoryExportImport(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for dir, suite := range map[string]string{a: "alpha", b: "beta"} {
		s, _, err := cache.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		s.Record(suite, cache.Key{Sum: suite}, []*event.Result{{Suite: suite, Test: "t", Status: event.Pass, Duration: time.Second}})
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "alpha.json")
	if out, code := historyCmd("export", "--state-dir", a, file); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	// Import into b: both suites; a directory holding history.json works
	// as well as a file.
	if out, code := historyCmd("import", "--state-dir", b, file, a); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, out)
	}
	s, _, err := cache.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range []string{"alpha", "beta"} {
		if _, ok := s.Test(suite, "t"); !ok {
			t.Errorf("%s::t not in the imported history", suite)
		}
	}
	empty := t.TempDir()
	if out, code := historyCmd("export", "--state-dir", empty, file); code != ExitUsage || !strings.Contains(out, "no history") {
		t.Errorf("export of nothing: exit %d\n%s", code, out)
	}
	if out, code := historyCmd("import", "--state-dir", b, filepath.Join(empty, "nope.json")); code != ExitUsage {
		t.Errorf("import of a missing file: exit %d\n%s", code, out)
	}
	if _, code := historyCmd("import", "--state-dir", b); code != ExitUsage {
		t.Errorf("import of nothing: exit %d, want 2", code)
	}
}
