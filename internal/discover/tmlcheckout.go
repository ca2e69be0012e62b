package discover

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/volley-test/volley/internal/protocol"
)

// RunCache is where TML puts the suite executables it builds, relative to
// the checkout's root.
const RunCache = "build/debug/.run-cache"

// BuildCommand is the command TML users run to build every suite
// executable of a checkout (TML builds its EXE-mode suites for coverage).
const BuildCommand = "tml test --coverage"

// Checkout is a TML source tree: test files (*.test.tml, tests/*.tml) and
// the suite executables TML built from them.
type Checkout struct {
	Root string
	// Files are every test file, relative to Root with forward slashes,
	// sorted.
	Files []string
	// Suite maps a test file to the suite (its name) that runs it.
	Suite map[string]string
	// Built lists the suites found in RunCache, by name.
	Built map[string]bool
}

// FindCheckout returns the TML checkout that dir is in: the nearest
// directory, dir or above, holding build/debug/.run-cache or lib/core/tests,
// with at least one test file. nil when there is none.
func FindCheckout(dir string) (*Checkout, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isDir(filepath.Join(d, RunCache)) || isDir(filepath.Join(d, "lib", "core", "tests")) {
			c, err := loadCheckout(d)
			if err != nil || len(c.Files) > 0 {
				return c, err
			}
		}
		if filepath.Dir(d) == d {
			return nil, nil
		}
	}
}

// CheckoutRoot returns the root of the TML checkout dir is in, by its
// layout alone (build/debug/.run-cache or lib/core/tests, in dir or
// above); "" when there is none.
func CheckoutRoot(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isDir(filepath.Join(d, RunCache)) || isDir(filepath.Join(d, "lib", "core", "tests")) {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// FilesOf returns the test files of the named suite, in index order; nil
// when no test file belongs to it.
func (c *Checkout) FilesOf(suite string) []string {
	var out []string
	for _, f := range c.Files {
		if c.Suite[f] == suite {
			out = append(out, f)
		}
	}
	return out
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// skipDirs are never searched for test files (TML's discover_test_files).
var skipDirs = map[string]bool{
	".git": true, "node_modules": true, "build": true, "gcc": true,
	"llvm-project": true, ".hg": true, ".sandbox": true,
}

// loadCheckout finds the test files under root by TML's rules and groups
// them into suites the way TML names their executables.
func loadCheckout(root string) (*Checkout, error) {
	c := &Checkout{Root: root, Suite: map[string]string{}, Built: map[string]bool{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable: passed over, as TML does
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if isTestFile(rel) && isRegular(p, d) {
			c.Files = append(c.Files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("TML checkout %s: %w", root, err)
	}
	sort.Strings(c.Files)
	for _, g := range groupSuites(root, c.Files, 1) {
		for _, f := range g.files {
			c.Suite[f] = g.name
		}
	}
	ents, _ := os.ReadDir(filepath.Join(root, RunCache))
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".exe"); ok && isRegular(filepath.Join(root, RunCache, e.Name()), e) {
			c.Built[name] = true
		}
	}
	return c, nil
}

func isRegular(p string, d fs.DirEntry) bool {
	if d.Type().IsRegular() {
		return true
	}
	st, err := os.Stat(p) // a link to a file counts
	return err == nil && st.Mode().IsRegular()
}

// isTestFile applies TML's rule to a path inside the checkout: *.test.tml,
// or *.tml under a tests/ directory; never *.bench.tml or *.error.tml, and
// nothing under errors/ or pending/. (TML applies the directory tests to
// the absolute path; volley to the path inside the checkout, so that a
// checkout kept under a directory named tests is searched as it should.)
func isTestFile(rel string) bool {
	p := "/" + rel
	name := filepath.Base(rel)
	switch {
	case strings.Contains(p, "/errors/"), strings.Contains(p, "/pending/"):
		return false
	case strings.HasSuffix(name, ".bench.tml"), strings.HasSuffix(name, ".error.tml"):
		return false
	}
	return strings.HasSuffix(name, ".test.tml") || (filepath.Ext(name) == ".tml" && strings.Contains(p, "/tests/"))
}

// suiteGroup is one suite executable and the test files it runs, in index
// order.
type suiteGroup struct {
	key   string
	name  string
	files []string
}

// groupSuites groups test files (relative to root, sorted) into suites by
// TML's group_tests_into_suites: files of one key, sorted by path, cut
// into chunks of perSuite; a key with one chunk is the suite <key>, else
// the chunks are <key>_1, <key>_2, ... TML builds its executables with
// one file per suite (perSuite = 1).
func groupSuites(root string, files []string, perSuite int) []suiteGroup {
	byKey := map[string][]string{}
	var keys []string
	for _, f := range files {
		k := suiteKey(root, f)
		if byKey[k] == nil {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], f)
	}
	var out []suiteGroup
	for _, k := range keys {
		fs := byKey[k]
		sort.Strings(fs)
		chunks := (len(fs) + perSuite - 1) / perSuite
		for i := 0; i < chunks; i++ {
			name := k
			if chunks > 1 {
				name = k + "_" + strconv.Itoa(i+1)
			}
			out = append(out, suiteGroup{key: k, name: name, files: fs[i*perSuite : min(len(fs), (i+1)*perSuite)]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// suiteKey is TML's extract_suite_key: the directory components of the
// file's path joined by "_", counted after the first component named tml
// (TML sees absolute paths, so this is usually the checkout itself),
// stopping after a "tests" component or after 3 components; "default"
// when there are none. Without a tml component TML's own names start at
// the file system root and name no executable it can find; volley counts
// from the checkout's root, as if it were named tml.
func suiteKey(root, rel string) string {
	abs := strings.Split(filepath.ToSlash(filepath.Join(root, rel)), "/")
	dirs := abs[:len(abs)-1]
	start := len(strings.Split(filepath.ToSlash(filepath.Clean(root)), "/"))
	for i, c := range dirs {
		if c == "tml" {
			start = i + 1
			break
		}
	}
	var parts []string
	for i := start; i < len(dirs); i++ {
		parts = append(parts, dirs[i])
		if dirs[i] == "tests" || i-start >= 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "default"
	}
	return strings.Join(parts, "_")
}

// Select narrows a checkout's test files the way `tml test` does: each
// pattern is a substring of the test file's path; --suite=LIB/MOD means
// lib/LIB/tests/MOD (compiler/MOD: compiler/tests/MOD), a suite without a
// slash is a pattern itself. No patterns and no suites select every file.
func Select(files, patterns, suites []string) []string {
	pats := append([]string(nil), patterns...)
	for _, s := range suites {
		pats = append(pats, SuitePattern(s))
	}
	if len(pats) == 0 {
		return files
	}
	var out []string
	for _, f := range files {
		for _, p := range pats {
			if strings.Contains(f, p) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// SuitePattern turns TML's --suite=LIB/MOD into the path it stands for.
func SuitePattern(s string) string {
	lib, mod, ok := strings.Cut(s, "/")
	switch {
	case !ok:
		return s
	case lib == "compiler":
		return "compiler/tests/" + mod
	}
	return "lib/" + lib + "/tests/" + mod
}

// checkoutSuites makes the suites of the selected test files: one per
// built executable. Test files whose suite is not built, executables built
// for another set of files, and test files changed since their suite was
// built are warnings.
func checkoutSuites(c *Checkout, selected []string, req Request) ([]*protocol.Suite, []string, error) {
	var suites []*protocol.Suite
	var warns, missing []string
	for _, f := range selected {
		name := c.Suite[f]
		exe := filepath.Join(c.Root, RunCache, name+".exe")
		if !c.Built[name] {
			missing = append(missing, fmt.Sprintf("%s (%s)", f, filepath.ToSlash(filepath.Join(RunCache, name+".exe"))))
			continue
		}
		if src, err1 := os.Stat(filepath.Join(c.Root, f)); err1 == nil {
			if bin, err2 := os.Lstat(exe); err2 == nil && src.ModTime().After(bin.ModTime()) {
				warns = append(warns, fmt.Sprintf("%s changed after its suite %s was built: the run tests the old code (rebuild with `%s`)", f, name, BuildCommand))
			}
		}
		s := &protocol.Suite{Name: name, Path: exe, Protocol: "tml", TestNames: []string{f}, KnownCount: 1}
		if req.Protocol != "" && req.Protocol != "tml" {
			return nil, nil, fmt.Errorf("--protocol %s: the suites of a TML checkout speak tml", req.Protocol)
		}
		s, err := finish(s, req)
		if err != nil {
			return nil, nil, err
		}
		suites = append(suites, s)
	}
	if len(missing) > 0 {
		warns = append(warns, fmt.Sprintf("%s not built, so not run: %s; build the suites with `%s` in %s",
			plural(len(missing), "test file's suite is", "test files' suites are"),
			list(missing, 3), BuildCommand, c.Root))
	}
	warns = append(warns, staleGroups(c)...)
	return suites, warns, nil
}

// staleGroups finds keys whose executables were built for a different
// number of test files than the checkout holds now: TML names them by
// position, so every name from that key may be off.
func staleGroups(c *Checkout) []string {
	count := map[string]int{}
	for _, f := range c.Files {
		count[suiteKey(c.Root, f)]++
	}
	var out []string
	keys := make([]string, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := count[k]
		var odd string
		switch {
		case n == 1 && c.Built[k+"_1"]:
			odd = k + "_1.exe"
		case n > 1 && c.Built[k]:
			odd = k + ".exe"
		case n > 1 && c.Built[k+"_"+strconv.Itoa(n+1)]:
			odd = k + "_" + strconv.Itoa(n+1) + ".exe"
		}
		if odd != "" {
			out = append(out, fmt.Sprintf("%s/%s was built when %s held another number of test files (now %d): test names of its suites may be wrong; rebuild with `%s`",
				RunCache, odd, k, n, BuildCommand))
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func list(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, … (%d more)", strings.Join(items[:n], ", "), len(items)-n)
}

// CountTests counts the @test functions of a test file as TML does: lines
// starting, after spaces and tabs, with "@test"; at least 1 (also for a
// file that cannot be read).
func CountTests(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 1
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "@test") {
			n++
		}
	}
	return max(n, 1)
}

// Module is one test directory of a checkout, as `tml test --list-suites`
// shows it: lib/core/tests/str is module str of library core, selected
// with --suite=core/str.
type Module struct {
	Lib, Name string
	Files     int
	Tests     int // @test functions
	NotBuilt  int // files whose suite is not built
}

// Modules lists the checkout's test modules by library, sorted: for each
// file, the component before its first "tests" directory is the library
// and the one after it the module (files directly in tests/ are in none).
func (c *Checkout) Modules() []Module {
	idx := map[[2]string]int{}
	var out []Module
	for _, f := range c.Files {
		parts := strings.Split(f, "/")
		for i := 0; i+1 < len(parts); i++ {
			if parts[i] != "tests" {
				continue
			}
			if i >= 1 && i+1 < len(parts)-1 {
				k := [2]string{parts[i-1], parts[i+1]}
				j, ok := idx[k]
				if !ok {
					j = len(out)
					idx[k] = j
					out = append(out, Module{Lib: k[0], Name: k[1]})
				}
				out[j].Files++
				out[j].Tests += CountTests(filepath.Join(c.Root, f))
				if !c.Built[c.Suite[f]] {
					out[j].NotBuilt++
				}
			}
			break
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Lib != out[j].Lib {
			return out[i].Lib < out[j].Lib
		}
		return out[i].Name < out[j].Name
	})
	return out
}
