package discover

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/protocol"
)

// Request is what the user asked for.
type Request struct {
	Args     []string     // positional arguments: paths, globs or name patterns
	Config   *config.File // nil when there is no volley.toml
	Protocol string       // --protocol; "" = per suite (config, then detection)
	Cwd      string
	// RunIgnored runs tests the harness marks ignored or disabled.
	RunIgnored bool
	// Filter (--filter) and Suites (--suite) select test files by path in
	// a TML checkout; Suites is an error elsewhere, and Filter is left to
	// the caller.
	Filter string
	Suites []string
}

// Result is the discovered suites plus the name patterns found among the
// positional arguments.
type Result struct {
	Suites   []*protocol.Suite
	Patterns []string
	Warnings []string // arguments passed over, with the reason
	// Checkout is the TML checkout the suites come from, nil when they
	// come from paths or volley.toml. Its patterns, Filter and Suites
	// have been applied.
	Checkout *Checkout
}

// Discover resolves a request. Errors name the argument or config entry at
// fault and say what to do.
func Discover(req Request) (*Result, error) {
	res := &Result{}
	var paths []string
	var ck *Checkout
	var ckErr error
	ckLooked := false
	checkout := func() *Checkout {
		if !ckLooked && req.Config == nil {
			ckLooked = true
			ck, ckErr = FindCheckout(req.Cwd)
		}
		return ck
	}
	for _, a := range req.Args {
		if !isGlob(a) && checkout() != nil {
			if p := absPath(a, req.Cwd); !isCandidate(p) {
				// In a TML checkout a word that names no executable is
				// a test-file path pattern; an existing file or
				// directory stands for its path inside the checkout.
				if rel, err := filepath.Rel(ck.Root, p); err == nil && filepath.IsLocal(rel) {
					if _, err := os.Stat(p); err == nil {
						a = filepath.ToSlash(rel)
					}
				}
				res.Patterns = append(res.Patterns, a)
				continue
			}
		}
		ps, isPath, err := expand(a, req.Cwd)
		if err == nil && isPath && len(ps) == 1 && !isCandidate(ps[0]) && !isGlob(a) && !inConfig(ps[0], req) {
			if st, serr := os.Stat(ps[0]); serr == nil && st.Mode().IsRegular() && !looksRunnable(ps[0]) {
				// A data file among many (a shell's DIR/* takes README,
				// specs...) is passed over; named alone, it is a mistake.
				// A program that lost its +x stays, to fail loudly.
				if len(req.Args) > 1 {
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s: not a program (no +x, no #! line, not a binary); passed over", a))
					continue
				}
				return nil, fmt.Errorf("%s: not a program (no +x, no #! line, not a binary)%s", a, sourceHint(ps[0]))
			}
		}
		if err == errNoTests && len(req.Args) > 1 {
			// A directory among many (a shell's DIR/* takes testdata/ too).
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: a directory with no test executable; passed over", a))
			continue
		}
		if err == errNoTests {
			err = fmt.Errorf("directory %s holds no test executable", a)
		}
		if err != nil {
			return nil, err
		}
		if !isPath {
			res.Patterns = append(res.Patterns, a)
			continue
		}
		paths = append(paths, ps...)
	}
	seen := map[string]bool{}
	add := func(s *protocol.Suite) {
		if seen[s.Path] {
			return
		}
		seen[s.Path] = true
		res.Suites = append(res.Suites, s)
	}
	if len(paths) > 0 {
		for _, p := range paths {
			s, err := suiteFor(p, req)
			if err != nil {
				return nil, err
			}
			add(s)
		}
	} else if req.Config != nil {
		for i := range req.Config.Suites {
			cs := &req.Config.Suites[i]
			matched := 0
			for _, g := range cs.Paths {
				ms, err := glob(g, req.Config.Dir)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: suite %q: paths: %w", req.Config.Path, cs.Line, cs.Name, err)
				}
				if len(ms) == 0 && !isGlob(g) {
					// Named but not built: it stays in the run, where it is
					// reported as an error; the other suites still run.
					matched++
					missing := g
					if !filepath.IsAbs(missing) {
						missing = filepath.Join(req.Config.Dir, missing)
					}
					proto := cs.Protocol
					if req.Protocol != "" {
						proto = req.Protocol
					}
					if proto == "" {
						proto = "exec"
					}
					add(&protocol.Suite{Name: protocol.SuiteName(missing), Path: missing, Protocol: proto, Retries: -1})
					res.Warnings = append(res.Warnings, fmt.Sprintf("%s:%d: suite %q: %s does not exist (was it built?)", req.Config.Path, cs.Line, cs.Name, g))
					continue
				}
				for _, m := range ms {
					if !isCandidate(m) {
						continue
					}
					matched++
					s, err := fromConfig(m, cs, req)
					if err != nil {
						return nil, err
					}
					add(s)
				}
			}
			if matched == 0 {
				return nil, fmt.Errorf("%s:%d: suite %q: paths %q match no executable (build the tests first, or fix the globs; they are relative to %s)",
					req.Config.Path, cs.Line, cs.Name, cs.Paths, req.Config.Dir)
			}
		}
	}
	if len(paths) == 0 && req.Config == nil && checkout() != nil {
		return fromCheckout(ck, res, req)
	}
	if req.Config == nil && checkout() != nil {
		// Executables of the checkout named on the command line still
		// get their test files' names.
		for _, s := range res.Suites {
			if filepath.Dir(s.Path) == filepath.Join(ck.Root, RunCache) && s.Protocol == "tml" {
				if fs := ck.FilesOf(strings.TrimSuffix(filepath.Base(s.Path), ".exe")); fs != nil {
					s.Name, s.TestNames, s.KnownCount = strings.TrimSuffix(filepath.Base(s.Path), ".exe"), fs, len(fs)
				}
			}
		}
	}
	if ckErr != nil && len(paths) == 0 {
		return nil, ckErr
	}
	if len(req.Suites) > 0 {
		return nil, fmt.Errorf("--suite %s: selects test files of a TML checkout, and there is none here (run volley in the checkout, or name suites another way)", req.Suites[0])
	}
	if len(res.Suites) == 0 && len(paths) == 0 {
		return nil, fmt.Errorf("nothing to run: name test executables (volley test build/tests/*) or describe suites in a volley.toml")
	}
	uniqueNames(res.Suites)
	return res, nil
}

// errNoTests is a directory argument with no test executable in it.
var errNoTests = errors.New("no test executable")

// expand classifies one positional argument.
func expand(a, cwd string) (paths []string, isPath bool, err error) {
	if isGlob(a) {
		ms, err := glob(a, cwd)
		if err != nil {
			return nil, true, fmt.Errorf("bad glob %q: %w", a, err)
		}
		var out []string
		for _, m := range ms {
			if isCandidate(m) {
				out = append(out, m)
			}
		}
		if len(out) == 0 {
			return nil, true, fmt.Errorf("%q matches no test executable", a)
		}
		return out, true, nil
	}
	p := a
	if !filepath.IsAbs(p) {
		p = filepath.Join(cwd, p)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && st.IsDir():
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, true, err
		}
		for _, e := range ents {
			if m := filepath.Join(p, e.Name()); isCandidate(m) {
				paths = append(paths, m)
			}
		}
		if len(paths) == 0 {
			return nil, true, errNoTests
		}
		return paths, true, nil
	case err == nil:
		return []string{p}, true, nil
	case strings.ContainsRune(a, '/') || strings.HasPrefix(a, "."):
		return nil, true, fmt.Errorf("%s: no such file (was it built? check the path)", a)
	}
	return nil, false, nil
}

// isCandidate reports whether a directory entry may be a test: an
// executable regular file (following symlinks), or a TAP script.
func isCandidate(p string) bool {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	return st.Mode()&0o111 != 0 || strings.HasSuffix(p, ".t")
}

// inConfig reports whether a suite of volley.toml takes the file p (it may
// run it through an interpreter).
func inConfig(p string, req Request) bool {
	if req.Config == nil {
		return false
	}
	for i := range req.Config.Suites {
		for _, g := range req.Config.Suites[i].Paths {
			if ms, _ := glob(g, req.Config.Dir); contains(ms, p) {
				return true
			}
		}
	}
	return false
}

func suiteFor(p string, req Request) (*protocol.Suite, error) {
	if req.Config != nil {
		for i := range req.Config.Suites {
			cs := &req.Config.Suites[i]
			for _, g := range cs.Paths {
				if ms, _ := glob(g, req.Config.Dir); contains(ms, p) {
					return fromConfig(p, cs, req)
				}
			}
		}
	}
	return finish(&protocol.Suite{Name: protocol.SuiteName(p), Path: p}, req)
}

func fromConfig(p string, cs *config.Suite, req Request) (*protocol.Suite, error) {
	s := &protocol.Suite{
		Name:        protocol.SuiteName(p),
		Path:        p,
		Protocol:    cs.Protocol,
		Args:        cs.Args,
		Interpreter: cs.Interpreter,
		Timeout:     time.Duration(cs.Timeout.Duration),
		Granularity: cs.Granularity,
		Threads:     cs.Threads,
		Group:       cs.Group,
	}
	if cs.Retries != nil {
		s.Retries = *cs.Retries
		if s.Retries == 0 {
			s.Retries = -1 // explicitly none, whatever the run's default
		}
	}
	for _, g := range cs.Inputs {
		// {name} stands for the suite's file name: per-suite data files.
		g = strings.ReplaceAll(g, "{name}", filepath.Base(p))
		ms, err := glob(g, req.Config.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: suite %q: inputs: %w", req.Config.Path, cs.Line, cs.Name, err)
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("%s:%d: suite %q: inputs %q match no file", req.Config.Path, cs.Line, cs.Name, g)
		}
		s.Inputs = append(s.Inputs, ms...)
	}
	if cs.Cwd != "" {
		s.Cwd = cs.Cwd
		if !filepath.IsAbs(s.Cwd) {
			s.Cwd = filepath.Join(req.Config.Dir, s.Cwd)
		}
	}
	keys := make([]string, 0, len(cs.Env))
	for k := range cs.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Env = append(s.Env, k+"="+cs.Env[k])
	}
	return finish(s, req)
}

func finish(s *protocol.Suite, req Request) (*protocol.Suite, error) {
	override := req.Protocol
	s.RunIgnored = req.RunIgnored
	if abs, err := filepath.Abs(s.Path); err == nil {
		s.Path = abs
	}
	switch {
	case override != "":
		s.Protocol = override
	case s.Protocol == "":
		p, err := protocol.Detect(s.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Path, err)
		}
		s.Protocol = p
	}
	if _, err := protocol.Lookup(s.Protocol); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Path, err)
	}
	if s.Protocol == "tml" && s.TestNames == nil {
		names, err := readNames(s.Path)
		if err != nil {
			return nil, err
		}
		s.TestNames, s.KnownCount = names, len(names)
	}
	return s, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// sourceHint is what to do with a source file named as a test.
func sourceHint(path string) string {
	switch filepath.Ext(path) {
	case ".go":
		return "; volley runs Go test binaries: build one with `go test -c -o NAME.test ./PKG` and name that"
	case ".c", ".cc", ".cpp", ".cxx", ".rs", ".tml":
		return "; it looks like source code: build the test executable and name that"
	}
	return "; name a test executable, or a TAP script ending in .t"
}

// looksRunnable reports whether a file starts like a program: an ELF
// binary or a #! script.
func looksRunnable(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	return bytes.HasPrefix(head, []byte("\x7fELF")) || bytes.HasPrefix(head, []byte("#!"))
}

// fromCheckout makes the suites of a TML checkout, with the positional
// words, --filter and --suite as test-file path patterns.
func fromCheckout(ck *Checkout, res *Result, req Request) (*Result, error) {
	pats := res.Patterns
	if req.Filter != "" {
		pats = append(pats, req.Filter)
	}
	selected := Select(ck.Files, pats, req.Suites)
	if len(selected) == 0 {
		return nil, fmt.Errorf("TML checkout %s: no test file matches %s (of %d test files; patterns are parts of a test file's path, --suite=core/str means lib/core/tests/str)",
			ck.Root, strings.Join(append(pats, req.Suites...), ", "), len(ck.Files))
	}
	suites, warns, err := checkoutSuites(ck, selected, req)
	if err != nil {
		return nil, err
	}
	res.Warnings = append(res.Warnings, warns...)
	if len(suites) == 0 {
		return nil, fmt.Errorf("TML checkout %s: no suite of the %s is built in %s (build them with `%s`)",
			ck.Root, plural(len(selected), "selected test file", "selected test files"), RunCache, BuildCommand)
	}
	res.Suites, res.Patterns, res.Checkout = suites, nil, ck
	return res, nil
}

func absPath(p, cwd string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cwd, p)
}
