package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/config"
)

// TestCreateExtract: Create packs the config, the suites (a symlink's
// target stored once, as a link), their inputs, --include files, working
// directories and the history; Extract gives back the same tree.
func TestCreateExtract(t *testing.T) {
	proj := t.TempDir()
	write := func(name, body string, mode os.FileMode) {
		t.Helper()
		p := filepath.Join(proj, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/t1", "#!/bin/sh\nexit 0\n", 0o755)
	if err := os.Symlink("t1", filepath.Join(proj, "bin", "t2")); err != nil {
		t.Fatal(err)
	}
	write("data/in.txt", "input\n", 0o644)
	write("extra/notes.txt", "notes\n", 0o600)
	write(".volley/history.json", "{}\n", 0o644)
	write("volley.toml", "[[suite]]\nprotocol = \"exec\"\npaths = [\"bin/*\"]\ninputs = [\"data/in.txt\"]\ncwd = \"work\"\n", 0o644)
	os.MkdirAll(filepath.Join(proj, "work"), 0o755)
	cfg, err := config.Load(filepath.Join(proj, "volley.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "a.tar.gz")
	m, err := Create(out, Options{Config: cfg, Include: []string{"extra/*"}, Volley: "test",
		History: filepath.Join(proj, ".volley", "history.json"), HistoryAt: filepath.Join(proj, ".volley", "history.json")})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Suites, " ") != "bin/t1 bin/t2" || strings.Join(m.Dirs, " ") != "work" {
		t.Errorf("suites %v, dirs %v", m.Suites, m.Dirs)
	}
	root := t.TempDir()
	if _, err := Extract(out, root); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"bin/t1": "#!/bin/sh\nexit 0\n", "bin/t2": "#!/bin/sh\nexit 0\n", "data/in.txt": "input\n",
		"extra/notes.txt": "notes\n", ".volley/history.json": "{}\n",
		"volley.toml": "[[suite]]\nprotocol = \"exec\"\npaths = [\"bin/*\"]\ninputs = [\"data/in.txt\"]\ncwd = \"work\"\n",
	} {
		p := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: %v, %v (want a regular file)", name, fi, err)
			continue
		}
		if b, _ := os.ReadFile(p); string(b) != want {
			t.Errorf("%s: %q, want %q", name, b, want)
		}
	}
	if fi, _ := os.Stat(filepath.Join(root, "bin", "t2")); fi == nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/t2 mode: %v", fi)
	}
	if fi, _ := os.Stat(filepath.Join(root, "extra", "notes.txt")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("extra/notes.txt mode: %v", fi)
	}
	if fi, err := os.Stat(filepath.Join(root, "work")); err != nil || !fi.IsDir() {
		t.Errorf("work: %v", err)
	}
}
