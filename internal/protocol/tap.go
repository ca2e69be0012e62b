package protocol

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/volley-test/volley/internal/event"
)

// TAP is the Test Anything Protocol (versions 12, 13 and 14) from a script
// or a binary: `ok 1 - name`, `not ok 2`, `# SKIP why`, `# TODO why`, a plan
// `1..N` first or last, `Bail out!`, and YAML diagnostics after a test in
// TAP 13+. A test is named by its description, or its number without one.
// The suite fails as a whole, in one outcome without a test name, when the
// plan and the tests disagree or when it exits non-zero with every test
// passing. TAP streams cannot be listed, so a suite is one process.
type TAP struct{}

func init() { register(TAP{}) }

// Name implements Protocol.
func (TAP) Name() string { return "tap" }

// Units implements Protocol. A script that cannot run by itself gets an
// interpreter as prove would give it, written into s.Interpreter: its #!
// line when it is not executable, perl for a .t file without one.
func (TAP) Units(s *Suite) []*Unit {
	if len(s.Interpreter) == 0 {
		s.Interpreter = tapInterpreter(s.Path)
	}
	return []*Unit{{Suite: s, Label: s.Name, Session: newTAPSession(s)}}
}

func tapInterpreter(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil // the start will say what is wrong
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	first, _ := bufio.NewReader(f).ReadString('\n')
	if shebang, ok := strings.CutPrefix(first, "#!"); ok {
		if st.Mode()&0o111 != 0 {
			return nil
		}
		return strings.Fields(shebang)
	}
	if filepath.Ext(path) == ".t" && !isBinaryHeader([]byte(first)) {
		return []string{"perl"}
	}
	return nil
}

// maxYAML bounds the YAML block kept for a failure's reason.
const (
	maxYAML       = 50
	maxYAMLReason = 240
)

type tapSession struct {
	suite   *Suite
	version int // 12 unless a `TAP version` line says otherwise
	lines   int
	planned int // -1 until the plan
	planAt  int // tests seen when the plan came
	skipAll string
	count   int // test lines
	last    int // the last test number
	names   map[string]bool
	held    *Outcome // a failure, until the next test line: its diagnostics follow it
	inYAML  bool
	yaml    []string
	diag    []string // `#` comment lines after the held failure
	bailed  bool
	failed  bool
	warns   []string
}

func newTAPSession(s *Suite) *tapSession {
	return &tapSession{suite: s, version: 12, planned: -1, names: map[string]bool{}}
}

func (t *tapSession) warn(format string, args ...any) {
	t.warns = append(t.warns, t.suite.Name+": "+fmt.Sprintf(format, args...))
}

func (t *tapSession) Line(raw []byte) []Outcome {
	l := strings.TrimRight(string(raw), "\r")
	t.lines++
	if t.bailed {
		return nil
	}
	var outs []Outcome
	if t.inYAML {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(l, " ") && trimmed != "..." {
			if len(t.yaml) < maxYAML {
				t.yaml = append(t.yaml, trimmed)
			}
			return nil
		}
		outs = append(outs, t.flush())
		if trimmed == "..." {
			return outs
		}
	}
	if t.held != nil {
		if strings.HasPrefix(l, " ") && strings.TrimSpace(l) == "---" {
			t.inYAML = true
			return nil
		}
		if c, ok := strings.CutPrefix(l, "#"); ok {
			// Diagnostics (Test::More's `#   Failed test ...`, got and
			// expected) belong to the failure before them.
			if c = strings.TrimSpace(c); c != "" && len(t.diag) < maxYAML {
				t.diag = append(t.diag, c)
			}
			return nil
		}
		outs = append(outs, t.flush())
	}
	if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
		return outs // a subtest's stream, or YAML after a passing test
	}
	switch {
	case strings.HasPrefix(l, "TAP version "):
		n, err := strconv.Atoi(strings.TrimSpace(l[len("TAP version "):]))
		if err != nil || n < 13 {
			t.warn("bad version line %q", clip(raw))
		} else {
			t.version = n
		}
		if t.lines > 1 {
			t.warn("the TAP version line must come first")
		}
	case strings.HasPrefix(l, "1.."):
		t.plan(l)
	case strings.HasPrefix(l, "Bail out!"):
		return append(outs, t.bail(strings.TrimSpace(l[len("Bail out!"):]))...)
	case l == "ok" || l == "not ok" || strings.HasPrefix(l, "ok ") || strings.HasPrefix(l, "not ok "):
		if o := t.test(l); o != nil {
			outs = append(outs, *o)
		}
	}
	return outs
}

// flush returns the held failure, with what its YAML block, or else its
// comment lines, say.
func (t *tapSession) flush() Outcome {
	o := *t.held
	t.held, t.inYAML = nil, false
	if y := yamlReason(t.yaml); y != "" {
		o.Reason += ": " + y
	} else if d := diagReason(t.diag); d != "" {
		o.Reason += ": " + d
	}
	t.yaml, t.diag = nil, nil
	return o
}

// diagReason condenses the comment lines after a failure to one line,
// leaving out Test::More's `Failed test` header when more follows.
func diagReason(lines []string) string {
	if len(lines) > 1 && strings.HasPrefix(lines[0], "Failed test") {
		lines = lines[1:]
	}
	joined := strings.Join(lines, "; ")
	if len(joined) > maxYAMLReason {
		joined = joined[:maxYAMLReason] + "..."
	}
	return joined
}

// yamlReason condenses a short YAML block to one line: its message if it
// has one, else its lines; a long block is left in the output.
func yamlReason(lines []string) string {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "message:"); ok {
			return strings.Trim(strings.TrimSpace(v), `'"`)
		}
	}
	joined := strings.Join(lines, "; ")
	if len(joined) > maxYAMLReason || len(lines) >= maxYAML {
		return "see the YAML diagnostics in the output"
	}
	return joined
}

func (t *tapSession) plan(l string) {
	spec, comment, _ := strings.Cut(l[len("1.."):], "#")
	n, err := strconv.Atoi(strings.TrimSpace(spec))
	if err != nil || n < 0 {
		t.warn("bad plan line %q", clip([]byte(l)))
		return
	}
	if t.planned >= 0 {
		t.warn("a second plan (%q); the first stands", l)
		return
	}
	t.planned, t.planAt = n, t.count
	if n == 0 {
		reason := strings.TrimSpace(comment)
		if kw, rest := tapDirective(reason); kw == "skip" {
			reason = rest
		}
		if reason == "" {
			reason = "no tests planned (1..0)"
		}
		t.skipAll = reason
	}
}

func (t *tapSession) bail(reason string) []Outcome {
	t.bailed = true
	why := "the script bailed out"
	if reason != "" {
		why += ": " + reason
	}
	if t.planned <= t.last {
		return []Outcome{{Status: event.Error, Reason: fmt.Sprintf("%s after %s", why, plural(t.count, "test"))}}
	}
	var outs []Outcome
	for n := t.last + 1; n <= t.planned; n++ {
		outs = append(outs, Outcome{Test: t.unique(strconv.Itoa(n), n), Status: event.Error, Reason: "not run: " + why})
	}
	return outs
}

// tapDirective splits "SKIP: no network" into "skip" and "no network".
func tapDirective(s string) (kw, rest string) {
	s = strings.TrimSpace(s)
	word := s
	if i := strings.IndexFunc(s, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }); i >= 0 {
		word = s[:i]
	}
	lw := strings.ToLower(word)
	switch {
	case strings.HasPrefix(lw, "skip"):
		kw = "skip"
	case strings.HasPrefix(lw, "todo"):
		kw = "todo"
	default:
		return "", s
	}
	return kw, strings.TrimSpace(strings.TrimLeft(s[len(word):], ":"))
}

// test parses "ok 3 - name # SKIP why" and "not ok 4 name # TODO why".
func (t *tapSession) test(l string) *Outcome {
	ok := strings.HasPrefix(l, "ok")
	rest := strings.TrimPrefix(strings.TrimPrefix(l, "not "), "ok")
	rest = strings.TrimLeft(rest, " ")
	num := 0
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i != 0 {
		if i < 0 {
			i = len(rest)
		}
		num, _ = strconv.Atoi(rest[:i])
		rest = rest[i:]
	}
	t.count++
	if num == 0 {
		num = t.last + 1
	} else if num != t.last+1 {
		t.warn("test number %d out of sequence (expected %d)", num, t.last+1)
	}
	t.last = num
	if t.planned >= 0 && t.planAt > 0 {
		t.warn("test %d after a plan at the end", num)
	}
	desc, directive := tapSplitDirective(rest)
	desc = strings.TrimSpace(desc)
	desc = strings.TrimSpace(strings.TrimPrefix(desc, "-"))
	if strings.IndexByte(desc, '\\') >= 0 {
		desc = tapUnescape.Replace(desc)
	}
	name := desc
	if name == "" {
		name = strconv.Itoa(num)
	}
	o := Outcome{Test: t.unique(name, num), Status: event.Pass}
	kw, why := tapDirective(directive)
	switch {
	case ok && kw == "skip":
		o.Status, o.Reason = event.Skip, why
		if why == "" {
			o.Reason = "skipped"
		}
	case ok && kw == "todo":
		t.warn("test %d (%s) passed although marked TODO", num, name)
	case kw == "todo":
		// An expected failure: not a failure of the run, and counted as
		// prove counts it (with the passes), the TODO text as the reason.
		o.Reason = strings.TrimSpace("not ok, marked TODO (expected failure): " + why)
	case !ok:
		t.failed = true
		o.Status, o.ExitCode, o.Reason = event.Fail, 1, "not ok"
		if kw == "skip" {
			o.Reason = "not ok, although marked SKIP: " + why
		}
		t.held = &o // diagnostics may follow
		return nil
	}
	return &o
}

// tapUnescape undoes TAP's escapes in a description: \# and \\.
var tapUnescape = strings.NewReplacer(`\#`, "#", `\\`, `\`)

// tapSplitDirective cuts at the first '#' that is not escaped.
func tapSplitDirective(s string) (desc, directive string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '#':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// unique makes a test name unique in the stream: TAP descriptions repeat.
func (t *tapSession) unique(name string, num int) string {
	if t.names[name] {
		name = fmt.Sprintf("%s (%d)", name, num)
		for t.names[name] {
			name += "'"
		}
	}
	t.names[name] = true
	return name
}

func (t *tapSession) Running() string { return "" }

func (t *tapSession) Warnings() []string {
	w := t.warns
	t.warns = nil
	return w
}

func (t *tapSession) Exit(x Exit) ([]Outcome, []*Unit) {
	var outs []Outcome
	if t.held != nil {
		outs = append(outs, t.flush())
	}
	suite := func(st event.Status, format string, args ...any) ([]Outcome, []*Unit) {
		return append(outs, Outcome{Status: st, ExitCode: x.Code, Reason: fmt.Sprintf(format, args...)}), nil
	}
	after := "after " + plural(t.count, "test")
	if t.planned > 0 {
		after = fmt.Sprintf("after %d of %d planned tests", t.count, t.planned)
	}
	switch {
	case x.Err != nil:
		return suite(event.Error, "%s", x.Err)
	case t.bailed:
		return outs, nil
	case x.TimedOut:
		return suite(event.Timeout, "timed out after %s %s", x.Timeout, after)
	case x.Signal != "":
		return suite(event.Crash, "killed by %s %s", x.Signal, after)
	case t.planned == 0 && t.count == 0:
		return suite(event.Skip, "%s", t.skipAll)
	}
	var problems []string
	switch {
	case t.planned < 0 && t.count == 0:
		problems = append(problems, "no TAP output (no plan, no tests)")
	case t.planned < 0:
		problems = append(problems, fmt.Sprintf("no plan (1..N) in the output; ran %d tests", t.count))
	case t.planned != t.count:
		problems = append(problems, fmt.Sprintf("planned %d tests, ran %d", t.planned, t.count))
	}
	if x.Code != 0 && !t.failed {
		if t.count > 0 {
			problems = append(problems, fmt.Sprintf("exited with code %d although no test failed", x.Code))
		} else {
			problems = append(problems, fmt.Sprintf("exited with code %d", x.Code))
		}
	}
	if len(problems) > 0 {
		return suite(event.Fail, "%s", strings.Join(problems, "; "))
	}
	return outs, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
