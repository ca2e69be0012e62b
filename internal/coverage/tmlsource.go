package coverage

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// srcModule is one module of the library and its functions, in the order
// they are defined, each once.
type srcModule struct {
	name  string
	funcs []string
}

// Builtins are the methods TML's report counts in module "builtins" beside
// the scanned sources (library_coverage_report.cpp).
var Builtins = []string{
	"Slice::len", "Slice::is_empty", "MutSlice::len", "MutSlice::is_empty", "Array::len",
	"Array::is_empty", "Array::get", "Array::first", "Array::last", "Array::map", "Array::eq",
	"Array::ne", "Array::cmp", "Maybe::is_just", "Maybe::is_nothing", "Maybe::unwrap",
	"Maybe::unwrap_or", "Maybe::map",
}

// The patterns of TML's scanner, with \s spelled as C's isspace.
var (
	implRe     = regexp.MustCompile(`^[ \t\n\v\f\r]*impl[ \t\n\v\f\r]*(?:\[[^\]]*\])?[ \t\n\v\f\r]*(\w+)(?:[ \t\n\v\f\r]+for[ \t\n\v\f\r]+(\w+))?`)
	behaviorRe = regexp.MustCompile(`^[ \t\n\v\f\r]*(pub[ \t\n\v\f\r]+)?behavior[ \t\n\v\f\r]+(\w+)`)
	funcRe     = regexp.MustCompile(`^[ \t\n\v\f\r]*(pub[ \t\n\v\f\r]+)?func[ \t\n\v\f\r]+(\w+)`)
	externRe   = regexp.MustCompile(`@extern\(`)
)

// scanSources finds every library function the way TML's coverage report
// does: every *.tml file under the directories (not *.test.tml, nothing
// under a tests/ directory), its function definitions (see
// extractFunctions), grouped by source module (moduleName). The module
// "builtins" (Builtins) comes first, the others sorted by name; a module
// found in several directories is one. Directories that do not exist are
// reported in missing.
func scanSources(dirs []string) (mods []srcModule, missing []string, err error) {
	byName := map[string][]string{}
	for _, dir := range dirs {
		if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
			missing = append(missing, dir)
			continue
		}
		werr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == dir {
					return err
				}
				return nil
			}
			name := d.Name()
			if d.IsDir() || strings.Contains(name, ".test.tml") || !strings.HasSuffix(name, ".tml") {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			rel = filepath.ToSlash(rel)
			if strings.Contains("/"+rel, "/tests/") {
				return nil
			}
			fns, err := extractFunctions(p)
			if err != nil {
				return fmt.Errorf("coverage source %s: %w", p, err)
			}
			if len(fns) > 0 {
				m := moduleName(rel)
				byName[m] = append(byName[m], fns...)
			}
			return nil
		})
		if werr != nil {
			return nil, missing, werr
		}
	}
	if len(byName) == 0 {
		return nil, missing, nil
	}
	mods = append(mods, srcModule{name: "builtins", funcs: Builtins})
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		mods = append(mods, srcModule{name: n, funcs: dedupe(byName[n])})
	}
	return mods, missing, nil
}

func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// moduleName is TML's get_module_name: the path inside the scanned
// directory, from after its first "src/" directory, without ".tml" and
// without a last "/mod": src/str.tml is str, src/collections/list.tml is
// collections/list, src/collections/mod.tml is collections.
func moduleName(rel string) string {
	if i := strings.Index(rel, "/src/"); i >= 0 {
		rel = rel[i+5:]
	} else if strings.HasPrefix(rel, "src/") {
		rel = rel[4:]
	}
	if len(rel) > 4 && strings.HasSuffix(rel, ".tml") {
		rel = rel[:len(rel)-4]
	}
	if len(rel) > 4 && strings.HasSuffix(rel, "/mod") {
		rel = rel[:len(rel)-4]
	}
	return rel
}

// extractFunctions is TML's extract_functions, line by line: a `func NAME`
// line defines NAME, or TYPE::NAME inside `impl TYPE` (`impl B for TYPE`;
// for a one-letter generic TYPE, B) or `behavior B`, whose extent is
// followed by counting braces. Skipped: test_* and ffi_* functions, a
// function whose previous line has @extern(, and a behavior's methods
// without a body (no '{' on their line).
func extractFunctions(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	impl, inBehavior, depth, prev := "", false, 0, ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := implRe.FindStringSubmatch(line); m != nil {
			impl = m[1]
			if m[2] != "" {
				impl = m[2]
				if len(m[2]) == 1 && m[2][0] >= 'A' && m[2][0] <= 'Z' {
					impl = m[1]
				}
			}
			inBehavior, depth = false, 0
		} else if m := behaviorRe.FindStringSubmatch(line); m != nil {
			impl, inBehavior, depth = m[2], true, 0
		}
		if impl != "" {
			depth += strings.Count(line, "{") - strings.Count(line, "}")
			if depth <= 0 {
				impl, inBehavior, depth = "", false, 0
			}
		}
		if m := funcRe.FindStringSubmatch(line); m != nil {
			name := m[2]
			switch {
			case strings.HasPrefix(name, "test_"), externRe.MatchString(prev), strings.HasPrefix(name, "ffi_"),
				inBehavior && !strings.Contains(line, "{"):
			case impl != "":
				out = append(out, impl+"::"+name)
			default:
				out = append(out, name)
			}
		}
		prev = line
	}
	return out, sc.Err()
}
