package coverage

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

// TestLLVM is the LLVM test: a C program built with clang's
// coverage flags, run twice, each run covering one function; the merged
// LCOV has both. A profile cut short and an empty one are dropped with
// warnings naming their suites.
func TestLLVM(t *testing.T) {
	t.Parallel()
	clang, err := exec.LookPath("clang")
	if err != nil {
		t.Skip("clang is not installed (apt-get install clang)")
	}
	if p, c := lookLLVM(""); p == "" || c == "" {
		t.Skip("llvm-profdata or llvm-cov is not installed (apt-get install llvm)")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "prog")
	if code, out := run(t, "", childEnv(), clang, "-fprofile-instr-generate", "-fcoverage-mapping", "-O0", "-o", bin, "testdata/llvm/prog.c"); code != 0 {
		t.Fatalf("clang: exit %d\n%s", code, out)
	}
	// An object llvm-cov cannot read makes it fail; volley then exports
	// the objects one by one and skips that one.
	notBinary := filepath.Join(tmp, "not-a-binary")
	os.WriteFile(notBinary, []byte("text\n"), 0o755)
	c, err := NewCollector(Options{Dir: filepath.Join(tmp, "cov"), Objects: []string{notBinary}})
	if err != nil {
		t.Fatal(err)
	}
	for i, arg := range []string{"a", "b"} {
		env, done := c.Env(unit("prog", bin, "exec", ""), i+1)
		if code, out := run(t, tmp, childEnv(env...), bin, arg); code != 0 {
			t.Fatalf("prog %s: exit %d\n%s", arg, code, out)
		}
		done()
		c.Observe(&event.Result{Suite: "prog", Status: event.Pass, Proc: i + 1})
	}
	good, _ := filepath.Glob(filepath.Join(c.raw, "llvm", "1-*.profraw"))
	if len(good) != 1 {
		t.Fatalf("profiles of process 1: %q", good)
	}
	b, err := os.ReadFile(good[0])
	if err != nil {
		t.Fatal(err)
	}
	// Killed while writing, and killed before writing.
	c.Env(unit("crashy", bin, "exec", ""), 3)
	c.Env(unit("empty_suite", bin, "exec", ""), 4)
	os.WriteFile(filepath.Join(c.raw, "llvm", "3-100-1_0.profraw"), b[:100], 0o644)
	os.WriteFile(filepath.Join(c.raw, "llvm", "4-101-1_0.profraw"), nil, 0o644)

	r := mustMerge(t, c)
	t.Logf("summary:\n%s\nwarnings: %q", r.Summary(), r.Warnings)
	if r.LLVM == nil || r.LLVM.Problem != "" || r.LLVM.Processes != 2 || r.LLVM.Dropped != 2 {
		t.Fatalf("LLVM: %+v", r.LLVM)
	}
	for _, w := range [][]string{{"suite crashy (process 3)", "unreadable profile"}, {"suite empty_suite (process 4)", "empty profile"}, {"not-a-binary", "skipped"}} {
		if !hasWarning(r, w...) {
			t.Errorf("no warning with %q: %q", w, r.Warnings)
		}
	}
	f, err := os.Open(filepath.Join(c.Dir(), llvmLCOV))
	if err != nil {
		t.Fatal(err)
	}
	lines, bad, err := parseLCOV(f)
	f.Close()
	if err != nil || bad > 0 {
		t.Fatalf("llvm.lcov: %v, %d bad lines", err, bad)
	}
	var prog *fileLines
	for p, fl := range lines {
		if strings.HasSuffix(p, "prog.c") {
			prog = fl
		}
	}
	if prog == nil {
		t.Fatalf("llvm.lcov has no prog.c: %v", lines)
	}
	for name, want := range map[string]bool{"fa": true, "fb": true, "main": true, "never": false} {
		fn := prog.Funcs[name]
		if fn == nil || (fn.Hits > 0) != want {
			t.Errorf("function %s: %+v, want covered=%v", name, fn, want)
		}
	}
	if r.LLVM.Covered == 0 || r.LLVM.Covered >= r.LLVM.Total {
		t.Errorf("lines %d of %d", r.LLVM.Covered, r.LLVM.Total)
	}
	for _, out := range []string{llvmCobertura, llvmProfdata, filepath.Join(llvmHTML, "index.html")} {
		if fi, err := os.Stat(filepath.Join(c.Dir(), out)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", out, err)
		}
	}
}

// TestToolsMissing: data whose tool is absent is reported, loudly, and the
// rest of the report is still written.
func TestToolsMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	t.Setenv("GOROOT", "")
	glob := llvmLibGlob
	llvmLibGlob = filepath.Join(dir, "none-*")
	defer func() { llvmLibGlob = glob }()

	c, err := NewCollector(Options{Dir: filepath.Join(dir, "cov")})
	if err != nil {
		t.Fatal(err)
	}
	env, done := c.Env(unit("gosuite", "/x/gosuite.test", "gotest", ""), 1)
	os.WriteFile(filepath.Join(envValue(env, GoEnv), "covmeta.0123"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(envValue(env, GoEnv), "covcounters.0123.1.2"), []byte("x"), 0o644)
	os.WriteFile(strings.ReplaceAll(envValue(env, LLVMEnv), "%p-%m", "1-2"), []byte("x"), 0o644)
	os.WriteFile(envValue(env, TMLEnv), []byte("a::b\n"), 0o644)
	done()
	r := mustMerge(t, c)
	if r.Go == nil || !strings.Contains(r.Go.Problem, "the go command is not on PATH") {
		t.Errorf("Go: %+v", r.Go)
	}
	if r.LLVM == nil || !strings.Contains(r.LLVM.Problem, "llvm-profdata is not installed (apt-get install llvm)") {
		t.Errorf("LLVM: %+v", r.LLVM)
	}
	s := r.Summary()
	if !strings.Contains(s, "Go: NOT MERGED") || !strings.Contains(s, "LLVM: NOT MERGED") || !strings.Contains(s, "1 function covered") {
		t.Errorf("summary:\n%s", s)
	}
}
