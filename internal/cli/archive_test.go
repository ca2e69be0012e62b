package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/shard"
)

// TestArchiveRoundTrip: archive a corpus, move the original away, run the
// archive from its extraction: the same counts.
func TestArchiveRoundTrip(t *testing.T) {
	volleyExe(t)
	work := t.TempDir()
	proj := filepath.Join(work, "proj")
	cfg := testCorpus(t, proj)
	out, code := runVolley(t, work, "test", "--config", cfg, "-j4", "--format", "plain", "--no-cache")
	if code != ExitTestsFailed {
		t.Fatalf("original run: exit %d\n%s", code, out)
	}
	want := summaryOf(t, out)

	file := filepath.Join(work, "dist", "tests.tar.gz")
	o := defaultRunOptions()
	o.configPath = cfg
	// The fixture suites read NAME.fixture beside them: not a declared
	// input, so --include it.
	m, err := writeArchive(&o, file, []string{"*.fixture"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Suites) != 12 || m.Config != "volley.toml" {
		t.Errorf("manifest: %d suites, config %q", len(m.Suites), m.Config)
	}
	// The twelve suites are symlinks to one binary: stored once.
	links := 0
	for _, f := range m.Files {
		if f.Link != "" {
			links++
		}
	}
	if links != 11 {
		t.Errorf("%d files stored as links to an earlier one, want 11", links)
	}
	if err := os.Rename(proj, filepath.Join(work, "moved")); err != nil {
		t.Fatal(err)
	}

	path, cleanup, err := extractArchive(file)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(path)
	if fi, err := os.Lstat(filepath.Join(root, m.Suites[0])); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o100 == 0 {
		t.Errorf("extracted suite %s: %v, %v (want an executable regular file)", m.Suites[0], fi, err)
	}
	other := t.TempDir()
	out, code = runVolley(t, other, "test", "--config", path, "-j4", "--format", "plain", "--no-cache")
	if code != ExitTestsFailed || summaryOf(t, out) != want {
		t.Errorf("from the archive: exit %d, %q; want 1, %q\n%s", code, summaryOf(t, out), want, out)
	}
	if _, err := os.Stat(filepath.Join(root, ".volley", shard.OutHistory)); err != nil {
		t.Errorf("the history was not archived: %v", err)
	}
	cleanup()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s: %v", root, err)
	}
}

// TestArchiveRefusesOutside: paths that cannot be remapped are refused
// with a message naming them.
func TestArchiveRefusesOutside(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "t1"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	os.WriteFile(filepath.Join(proj, "t2"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	for name, tc := range map[string]struct{ toml, want string }{
		"outside":  {"[[suite]]\nprotocol = \"exec\"\npaths = [\"../bin/*\"]\n", "outside"},
		"absolute": {"[[suite]]\nprotocol = \"exec\"\npaths = [\"" + filepath.Join(dir, "bin") + "/*\"]\n", "absolute"},
		"input":    {"[[suite]]\nprotocol = \"exec\"\npaths = [\"t2\"]\ninputs = [\"../bin/t1\"]\n", "outside"},
	} {
		cfg := filepath.Join(proj, "volley.toml")
		os.WriteFile(cfg, []byte(tc.toml), 0o644)
		o := defaultRunOptions()
		o.configPath = cfg
		_, err := writeArchive(&o, filepath.Join(dir, name+".tar.gz"), nil, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err, &bytes.Buffer{}) != ExitUsage {
			t.Errorf("%s: err %v, want a usage error saying %q", name, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, name+".tar.gz")); err == nil {
			t.Errorf("%s: an archive was written", name)
		}
	}
}
