package protocol

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/volley-test/volley/internal/event"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/<protocol>/*.txtar")

// artifacts holds what the tests build (fixture binaries), once per run.
var artifacts string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "volley-protocol-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	artifacts = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// repoRoot is the module root, where testdata/harness lives.
func repoRoot(t testing.TB) string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// artifact is a fixture built at most once per test run.
type artifact struct {
	once sync.Once
	path string
	skip string // why it cannot be built here
	err  error
}

func (a *artifact) get(t *testing.T, build func() (path, skip string, err error)) string {
	t.Helper()
	a.once.Do(func() { a.path, a.skip, a.err = build() })
	if a.skip != "" {
		t.Skip(a.skip)
	}
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.path
}

// command runs a build step, returning its combined output in the error.
func command(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// splitter turns writes into lines as the executor does: complete lines as
// they arrive, and an unterminated last line at the end.
type splitter struct {
	cur  []byte
	line func([]byte)
}

func (s *splitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.cur = append(s.cur, p...)
			break
		}
		s.line(append(s.cur, p[:i]...))
		s.cur = s.cur[:0]
		p = p[i+1:]
	}
	return n, nil
}

func (s *splitter) Close() {
	if len(s.cur) > 0 {
		s.line(s.cur)
		s.cur = nil
	}
}

// runResult is what one real unit and its follow-ups reported.
type runResult struct {
	outs  []Outcome
	units []*Unit
	warns []string
}

// byTest maps test names to statuses; suite-level outcomes are under "".
func (r runResult) byTest() map[string]event.Status {
	m := map[string]event.Status{}
	for _, o := range r.outs {
		m[o.Test] = o.Status
	}
	return m
}

func (r runResult) find(test string) (Outcome, bool) {
	for _, o := range r.outs {
		if o.Test == test {
			return o, true
		}
	}
	return Outcome{}, false
}

func (r runResult) String() string {
	var b strings.Builder
	for _, o := range r.outs {
		fmt.Fprintf(&b, "  %s\n", formatOutcome(o))
	}
	for _, w := range r.warns {
		fmt.Fprintf(&b, "  warn: %s\n", w)
	}
	return b.String()
}

// runReal runs u as the executor and dispatcher would: its standard output
// is fed to the session line by line as it arrives, Exit gets how it ended,
// and follow-up units run next. timeout > 0 kills a unit that takes longer.
func runReal(t *testing.T, u *Unit, env []string, timeout time.Duration) runResult {
	t.Helper()
	var r runResult
	queue := []*Unit{u}
	for len(queue) > 0 {
		if len(r.units) == 50 {
			t.Fatalf("more than 50 units: the follow-ups do not terminate\n%s", r)
		}
		u := queue[0]
		queue = queue[1:]
		r.units = append(r.units, u)
		follow := runOne(t, u, env, timeout, &r)
		queue = append(follow, queue...)
	}
	checkUnique(t, r.outs)
	return r
}

func runOne(t *testing.T, u *Unit, env []string, timeout time.Duration, r *runResult) []*Unit {
	t.Helper()
	s := u.Session
	argv := u.Argv()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = u.Suite.Cwd
	cmd.Env = append(append(os.Environ(), u.Suite.Env...), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	collect := func(outs []Outcome) {
		r.outs = append(r.outs, outs...)
		r.warns = append(r.warns, s.Warnings()...)
	}
	if err := cmd.Start(); err != nil {
		outs, follow := s.Exit(Exit{Code: -1, Err: err})
		collect(outs)
		return follow
	}
	var timedOut bool
	var mu sync.Mutex
	if timeout > 0 {
		timer := time.AfterFunc(timeout, func() {
			mu.Lock()
			timedOut = true
			mu.Unlock()
			_ = cmd.Process.Signal(syscall.SIGTERM)
		})
		defer timer.Stop()
	}
	sp := &splitter{line: func(l []byte) { collect(s.Line(l)) }}
	if _, err := io.Copy(sp, stdout); err != nil {
		t.Fatal(err)
	}
	sp.Close()
	err = cmd.Wait()
	x := Exit{Code: -1, Timeout: timeout}
	mu.Lock()
	x.TimedOut = timedOut
	mu.Unlock()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		x.Signal = unix.SignalName(ws.Signal())
	} else {
		x.Code = cmd.ProcessState.ExitCode()
	}
	outs, follow := s.Exit(x)
	collect(outs)
	for _, f := range follow {
		if len(f.Tests) == 0 {
			t.Errorf("follow-up unit %s names no tests", f.Label)
		}
	}
	return follow
}

// checkUnique fails the test when a test is reported twice.
func checkUnique(t testing.TB, outs []Outcome) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range outs {
		if o.Test != "" && seen[o.Test] {
			t.Errorf("%s reported twice", o.Test)
		}
		seen[o.Test] = true
	}
}

func formatOutcome(o Outcome) string {
	name := o.Test
	if name == "" {
		name = "<suite>"
	}
	s := o.Status.String() + " " + name
	if o.ExitCode != 0 {
		s += fmt.Sprintf(" (code %d)", o.ExitCode)
	}
	if o.Reason != "" {
		s += ": " + o.Reason
	}
	return s
}

// statuses renders a name->status map in name order, for comparisons.
func statuses(m map[string]event.Status) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s ", k, m[k])
	}
	return b.String()
}
