package coverage

import (
	"context"
	"errors"
	"fmt"
	"github.com/volley-test/volley/internal/proc"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// tool runs external programs, each under a timeout.
type tool struct {
	timeout time.Duration
	env     []string // added to volley's environment
}

// run runs name with args in dir. stdout, when not nil, receives the
// standard output; otherwise it is kept with stderr (the last 16 KiB) and
// returned. A failure's error carries that output.
func (t *tool) run(ctx context.Context, dir string, stdout io.Writer, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if len(t.env) > 0 {
		cmd.Env = append(os.Environ(), t.env...)
	}
	out := &tail{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if stdout != nil {
		cmd.Stdout = stdout
	}
	killGroup(cmd)
	cmd.WaitDelay = 5 * time.Second
	// Through proc, like every process volley starts: volley reaps orphans,
	// and only processes it knows of keep their exit status to themselves.
	err := proc.Start(cmd)
	if err == nil {
		err = proc.Wait(cmd)
	}
	text := strings.TrimSpace(string(out.b))
	if err != nil {
		short := filepath.Base(name)
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			short += " " + args[0]
			if args[0] == "tool" && len(args) > 2 {
				short += " " + args[1] + " " + args[2]
			}
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return text, fmt.Errorf("%s timed out after %s", short, t.timeout)
		}
		if text != "" {
			return text, fmt.Errorf("%s: %w: %s", short, err, firstLines(text, 3))
		}
		return text, fmt.Errorf("%s: %w", short, err)
	}
	return text, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	b   []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

// firstLines is at most n lines of s, joined by " | ".
func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " | ")
}

// lookGo finds the go command: on $PATH, else in $GOROOT/bin.
func lookGo() (string, bool) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, true
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, true
		}
	}
	return "", false
}

// llvmLibGlob finds Debian's per-version LLVM installations.
var llvmLibGlob = "/usr/lib/llvm-*/bin/llvm-profdata"

// lookLLVM finds llvm-profdata and llvm-cov of one LLVM version: in first
// (when set), then unversioned on $PATH, then the newest llvm-profdata-N
// with its llvm-cov-N (Debian's versioned names), then /usr/lib/llvm-N/bin.
// cov is "" when only llvm-profdata was found.
func lookLLVM(first string) (profdata, cov string) {
	exe := func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if first != "" {
		if p := filepath.Join(first, "llvm-profdata"); exe(p) {
			if c := filepath.Join(first, "llvm-cov"); exe(c) {
				return p, c
			}
			return p, ""
		}
	}
	if p, err := exec.LookPath("llvm-profdata"); err == nil {
		c, _ := exec.LookPath("llvm-cov")
		return p, c
	}
	versions := map[int]bool{}
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		m, _ := filepath.Glob(filepath.Join(d, "llvm-profdata-*"))
		for _, p := range m {
			if v, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(p), "llvm-profdata-")); err == nil {
				versions[v] = true
			}
		}
	}
	m, _ := filepath.Glob(llvmLibGlob)
	for _, p := range m {
		if v, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(filepath.Dir(p))), "llvm-")); err == nil {
			versions[v] = true
		}
	}
	var vs []int
	for v := range versions {
		vs = append(vs, v)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(vs)))
	for _, v := range vs {
		suffix := "-" + strconv.Itoa(v)
		if p, err := exec.LookPath("llvm-profdata" + suffix); err == nil {
			c, _ := exec.LookPath("llvm-cov" + suffix)
			return p, c
		}
		dir := fmt.Sprintf("/usr/lib/llvm-%d/bin", v)
		if p := filepath.Join(dir, "llvm-profdata"); exe(p) {
			if c := filepath.Join(dir, "llvm-cov"); exe(c) {
				return p, c
			}
			return p, ""
		}
	}
	return "", ""
}
