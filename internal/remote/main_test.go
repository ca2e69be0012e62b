package remote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/remote/reapitest"
	"github.com/volley-test/volley/internal/testenv"
)

func TestMain(m *testing.M) {
	if os.Getenv(reapitest.EnvServe) != "" {
		reapitest.Main()
	}
	// Retries in tests: same bound, short pauses.
	defaultRetry = retryPolicy{tries: 5, base: 5 * time.Millisecond, max: 50 * time.Millisecond, patience: testenv.Scale(20 * time.Second)}
	os.Exit(m.Run())
}

// toolScript is the remote "test binary": it reports its args, env, cwd and
// an input file, writes a coverage file, and exits 3.
const toolScript = `#!/bin/sh
echo "args: $*"
echo "cwd: $(basename "$(pwd)")"
echo "FOO=$FOO"
echo "HOME=${HOME-unset}"
cat testdata/in.txt
mkdir -p cov
echo "covered $1" > cov/out.txt
echo "to stderr" >&2
exit 3
`

// project lays out root/bin/tool.sh, root/pkg (the cwd) and
// root/pkg/testdata/in.txt, and returns the cwd.
func project(t *testing.T, script string) (cwd, tool string) {
	t.Helper()
	root := t.TempDir()
	cwd = filepath.Join(root, "pkg")
	tool = filepath.Join(root, "bin", "tool.sh")
	mustWrite(t, tool, script, 0o755)
	mustWrite(t, filepath.Join(cwd, "testdata", "in.txt"), "input data\n", 0o644)
	return cwd, tool
}

func mustWrite(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func toolSpec(cwd string, args ...string) Spec {
	return Spec{
		Argv:        append([]string{"../bin/tool.sh"}, args...),
		Env:         []string{"PATH=/usr/bin:/bin", "FOO=bar baz"},
		Cwd:         cwd,
		Inputs:      []string{"testdata/in.txt"},
		OutputFiles: []string{"cov/out.txt"},
		Timeout:     20 * time.Second,
	}
}

// checkTool checks the Result of toolSpec(cwd, "alpha", "beta").
func checkTool(t *testing.T, res *Result) {
	t.Helper()
	want := "args: alpha beta\ncwd: pkg\nFOO=bar baz\nHOME=unset\ninput data\n"
	if string(res.Stdout) != want {
		t.Errorf("stdout = %q, want %q", res.Stdout, want)
	}
	if string(res.Stderr) != "to stderr\n" {
		t.Errorf("stderr = %q", res.Stderr)
	}
	if res.ExitCode != 3 || res.TimedOut || res.Signal != "" {
		t.Errorf("exit %d timedOut %v signal %q, want exit 3", res.ExitCode, res.TimedOut, res.Signal)
	}
	if got := string(res.Outputs["cov/out.txt"]); got != "covered alpha\n" {
		t.Errorf("output cov/out.txt = %q", got)
	}
}

func startServer(t *testing.T, opts reapitest.Options) *reapitest.Server {
	t.Helper()
	s, err := reapitest.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func dial(t *testing.T, cfg Config) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Scale(20*time.Second))
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func run(t *testing.T, c *Client, s Spec) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Scale(40*time.Second))
	defer cancel()
	res, err := c.Run(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// bigScript pads script past the server's batch limit so it goes by
// ByteStream; sh stops reading at exit.
func bigScript(script string, size int) string {
	var b strings.Builder
	b.WriteString(script)
	line := "# " + strings.Repeat("x", 77) + "\n"
	for b.Len() < size {
		b.WriteString(line)
	}
	return b.String()
}
