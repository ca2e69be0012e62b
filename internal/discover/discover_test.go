package discover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/config"
)

// A file that is no program, named alone, is a usage error that says what
// to name instead; among other paths it is passed over with a warning.
func TestNotAProgram(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := write("x_test.go", "package x\n", 0o644)
	readme := write("README", "hello\n", 0o644)
	script := write("ok.sh", "#!/bin/sh\nexit 0\n", 0o755)
	for _, c := range []struct{ path, want string }{
		{src, "go test -c"},
		{readme, "name a test executable"},
	} {
		_, err := Discover(Request{Args: []string{c.path}, Cwd: dir})
		if err == nil || !strings.Contains(err.Error(), "not a program") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s alone: %v, want an error saying %q", filepath.Base(c.path), err, c.want)
		}
	}
	res, err := Discover(Request{Args: []string{src, script}, Cwd: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suites) != 1 || res.Suites[0].Path != script {
		t.Errorf("suites %v, want only %s", res.Suites, script)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "passed over") {
		t.Errorf("warnings %q, want one saying the source file was passed over", res.Warnings)
	}
}

// A file a suite of volley.toml takes, run through its interpreter, is a
// test whatever its mode.
func TestConfigSuiteFileIsAProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "t"), 0o755); err != nil {
		t.Fatal(err)
	}
	py := filepath.Join(dir, "t", "a.py")
	if err := os.WriteFile(py, []byte("print('ok')\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	toml := filepath.Join(dir, "volley.toml")
	if err := os.WriteFile(toml, []byte("[[suite]]\nname = \"py\"\npaths = [\"t/*.py\"]\ninterpreter = [\"python3\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(toml)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Discover(Request{Args: []string{py}, Cwd: dir, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Suites) != 1 || res.Suites[0].Path != py {
		t.Errorf("suites %v, want %s", res.Suites, py)
	}
}
