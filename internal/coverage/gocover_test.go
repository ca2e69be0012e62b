package coverage

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

// TestGoPerTestEqualsWholePackage is the Go accuracy test: a test
// binary built with -cover, each test run alone in its own process with
// its own GOCOVERDIR, merges to the same blocks and counts as `go test
// -coverprofile` on the whole package.
func TestGoPerTestEqualsWholePackage(t *testing.T) {
	t.Parallel()
	goTool, _ := lookGo()
	pkg, err := filepath.Abs("testdata/gomod")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	goEnv := childEnv("GOWORK=off", "GOFLAGS=", "GOPROXY=off", "GOTOOLCHAIN=local")
	bin := filepath.Join(tmp, "covtarget.test")
	if code, out := run(t, pkg, goEnv, goTool, "test", "-c", "-cover", "-covermode=set", "-o", bin, "."); code != 0 {
		t.Fatalf("go test -c: exit %d\n%s", code, out)
	}
	code, out := run(t, pkg, goEnv, bin, "-test.list", ".")
	var tests []string
	for _, l := range strings.Fields(out) {
		if strings.HasPrefix(l, "Test") {
			tests = append(tests, l)
		}
	}
	if code != 0 || len(tests) != 3 {
		t.Fatalf("-test.list: exit %d, tests %q\n%s", code, tests, out)
	}

	c, err := NewCollector(Options{Dir: filepath.Join(tmp, "cov")})
	if err != nil {
		t.Fatal(err)
	}
	var firstDir string
	for i, name := range tests {
		env, done := c.Env(unit("covtarget", bin, "gotest", pkg), i+1)
		flag, ok := GoTestFlag(bin, env)
		if !ok || flag != "-test.gocoverdir="+envValue(env, GoEnv) {
			t.Fatalf("GoTestFlag = %q, %v", flag, ok)
		}
		if i == 0 {
			firstDir = envValue(env, GoEnv)
		}
		code, out := run(t, pkg, childEnv(env...), bin, "-test.run=^"+name+"$", flag)
		done()
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", name, code, out)
		}
		c.Observe(&event.Result{Suite: "covtarget", Test: name, Status: event.Pass, Proc: i + 1})
	}
	// A process killed while writing: its counter file is cut short.
	env, done := c.Env(unit("broken", bin, "gotest", pkg), 99)
	brokenDir := envValue(env, GoEnv)
	files, _ := os.ReadDir(firstDir)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(firstDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f.Name(), "covcounters.") {
			b = b[:20]
		}
		if err := os.WriteFile(filepath.Join(brokenDir, f.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	done()
	ref := filepath.Join(tmp, "ref.txt")
	if code, out := run(t, pkg, goEnv, goTool, "test", "-count=1", "-covermode=set", "-coverprofile="+ref, "."); code != 0 {
		t.Fatalf("go test -coverprofile: exit %d\n%s", code, out)
	}
	want := readBlocks(t, ref)
	if len(want) < 8 {
		t.Fatalf("reference profile has only %d blocks", len(want))
	}
	f, _ := os.Open(ref)
	_, blocks, _ := parseGoProfile(f)
	f.Close()
	total, covered := goStatements(blocks)

	// Merged at once, then in batches of one or two directories.
	for _, limit := range []int{0, 4} {
		c.maxArg = limit
		r := mustMerge(t, c)
		t.Logf("argument limit %d: summary:\n%s\nwarnings: %q", limit, r.Summary(), r.Warnings)
		if r.Go == nil || r.Go.Problem != "" || r.Go.Processes != 3 || r.Go.Dropped != 1 {
			t.Fatalf("Go: %+v", r.Go)
		}
		if !hasWarning(r, "suite broken (process 99)", "dropped") {
			t.Errorf("no warning naming the broken suite: %q", r.Warnings)
		}
		got := readBlocks(t, filepath.Join(c.Dir(), goProfile))
		for k, w := range want {
			if g, ok := got[k]; !ok || g != w {
				t.Errorf("block %s: merged %q, go test %q", k, g, w)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("block %s only in the merged profile", k)
			}
		}
		if r.Go.Total != total || r.Go.Covered != covered || covered == 0 || covered == total {
			t.Errorf("statements %d of %d, want %d of %d", r.Go.Covered, r.Go.Total, covered, total)
		}
	}

	lcov, err := os.ReadFile(filepath.Join(c.Dir(), goLCOV))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SF:" + filepath.Join(pkg, "calc.go"), "FNDA:1,(*Counter).Inc", "FNDA:1,Abs", "FNDA:0,Never", "DA:6,1"} {
		if !strings.Contains(string(lcov), want) {
			t.Errorf("go.lcov lacks %q:\n%s", want, lcov)
		}
	}
	var cob cobCoverage
	b, err := os.ReadFile(filepath.Join(c.Dir(), goCobertura))
	if err == nil {
		err = xml.Unmarshal(b, &cob)
	}
	if err != nil || cob.LinesValid == 0 || cob.LinesCovered == 0 || len(cob.Packages.Package) != 1 {
		t.Errorf("go.cobertura.xml: %v %+v", err, cob)
	}
	if fi, err := os.Stat(filepath.Join(c.Dir(), goHTML)); err != nil || fi.Size() == 0 {
		t.Errorf("go.html: %v", err)
	}
}

// readBlocks reads a Go text profile as block -> "stmts covered?".
func readBlocks(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mode, blocks, err := parseGoProfile(f)
	if err != nil || mode != "set" {
		t.Fatalf("%s: mode %q, %v", path, mode, err)
	}
	m := map[string]string{}
	for _, b := range blocks {
		k := fmt.Sprintf("%s:%d.%d,%d.%d", b.File, b.StartLine, b.StartCol, b.EndLine, b.EndCol)
		m[k] = fmt.Sprintf("%d %v", b.Stmts, b.Count > 0)
	}
	return m
}

func TestParseGoProfile(t *testing.T) {
	t.Parallel()
	in := "mode: count\nx/a.go:3.1,4.2 2 1\nx/a.go:1.1,2.2 1 0\nx/a.go:3.1,4.2 2 5\nx/b.go:1.1,1.9 1 0\n"
	mode, blocks, err := parseGoProfile(strings.NewReader(in))
	if err != nil || mode != "count" || len(blocks) != 3 {
		t.Fatalf("%q %v %+v", mode, err, blocks)
	}
	if b := blocks[1]; b.File != "x/a.go" || b.StartLine != 3 || b.Count != 6 {
		t.Errorf("duplicate not summed: %+v", b)
	}
	lines := goLines(blocks, nil)
	if f := lines["x/a.go"]; f == nil || f.Lines[1] != 0 || f.Lines[3] != 6 || f.Lines[4] != 6 {
		t.Errorf("lines %+v", lines["x/a.go"])
	}
	for _, bad := range []string{"x/a.go:3.1,4.2 2\n", "mode: set\nx/a.go 3.1,4.2 2 1\n", "x/a.go:3.1,4.2 2 1\n"} {
		if _, _, err := parseGoProfile(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestGoSilent: gotest processes that leave no Go coverage data are
// reported: the binary was built without -cover or run without
// -test.gocoverdir.
func TestGoSilent(t *testing.T) {
	t.Parallel()
	c, err := NewCollector(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 2; id++ {
		_, done := c.Env(unit("pkg.test", "/x/pkg.test", "gotest", ""), id)
		done()
	}
	r := mustMerge(t, c)
	if !hasWarning(r, "2 processes of gotest suites wrote no coverage data") || r.Go != nil {
		t.Errorf("warnings %q, Go %+v", r.Warnings, r.Go)
	}
}
