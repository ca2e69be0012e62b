package coverage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/protocol"
)

// fixtureExe is internal/fixture/testdata/fixturemain, built by TestMain:
// a fake tml suite when a sidecar spec sits next to its path.
var fixtureExe string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coverage-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureExe = filepath.Join(dir, "fixturemain")
	goTool, ok := lookGo()
	if !ok {
		fmt.Fprintln(os.Stderr, "no go command")
		os.Exit(1)
	}
	build := exec.Command(goTool, "build", "-o", fixtureExe, "../fixture/testdata/fixturemain")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build fixturemain: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// unit is a process to run of a suite.
func unit(name, path, proto, cwd string) *protocol.Unit {
	return &protocol.Unit{Suite: &protocol.Suite{Name: name, Path: path, Protocol: proto, Cwd: cwd}, Label: name}
}

// childEnv is this process's environment without coverage or fixture
// variables, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case TMLEnv, GoEnv, LLVMEnv, "VOLLEY_FIXTURE", "VOLLEY_FIXTURE_CHILD":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// run runs a program to completion (30s at most) and returns its exit code.
func run(t *testing.T, dir string, env []string, name string, args ...string) (code int, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return cmd.ProcessState.ExitCode(), b.String()
}

// hasWarning reports whether some warning contains every part.
func hasWarning(r *Report, parts ...string) bool {
	for _, w := range r.Warnings {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(w, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func mustMerge(t *testing.T, c *Collector) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := c.Merge(ctx)
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return r
}

// envValue is the value of key in env.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}
