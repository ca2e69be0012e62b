package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A golden case is a txtar file: header lines `tests: A B` (a batch; a
// whole-suite run without it), `run-ignored: true`, `exit: code=N |
// signal=SIG | timeout | error=text`; a stdout section; and the want
// section, the transcript the session produced, rewritten by -update.
type goldenCase struct {
	tests      []string
	runIgnored bool
	exit       Exit
	stdout     []byte
}

func parseGolden(t testing.TB, ar *txtarArchive) goldenCase {
	var c goldenCase
	c.exit.Code = 0
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "tests":
			c.tests = strings.Fields(v)
		case "run-ignored":
			c.runIgnored = v == "true"
		case "exit":
			c.exit = parseExit(t, v)
		}
	}
	for _, f := range ar.Files {
		if f.Name == "stdout" {
			c.stdout = f.Data
		}
	}
	return c
}

func parseExit(t testing.TB, v string) Exit {
	k, val, _ := strings.Cut(v, "=")
	switch k {
	case "code":
		var n int
		fmt.Sscan(val, &n)
		return Exit{Code: n}
	case "signal":
		return Exit{Code: -1, Signal: val}
	case "timeout":
		return Exit{Code: -1, TimedOut: true, Timeout: 5 * time.Second}
	case "error":
		return Exit{Code: -1, Err: errors.New(val)}
	}
	t.Fatalf("bad exit %q", v)
	return Exit{}
}

// goldenUnit makes the unit a case runs under protocol name.
func goldenUnit(t testing.TB, name string, c goldenCase) *Unit {
	p, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	s := &Suite{Name: "suite", Path: "/nonexistent/suite", Protocol: name, RunIgnored: c.runIgnored}
	if c.tests != nil {
		return p.(Lister).Batch(s, c.tests)
	}
	return p.Units(s)[0]
}

// transcript feeds stdout to u's session through feed and writes down
// everything the session says.
func transcript(t testing.TB, u *Unit, stdout []byte, x Exit, feed func(w io.Writer, data []byte)) string {
	var b strings.Builder
	s := u.Session
	running := s.Running()
	fmt.Fprintf(&b, "start: running %q\n", running)
	var all []Outcome
	n := 0
	sp := &splitter{line: func(l []byte) {
		n++
		outs := s.Line(l)
		all = append(all, outs...)
		for _, o := range outs {
			fmt.Fprintf(&b, "%d: %s\n", n, formatOutcome(o))
		}
		for _, w := range s.Warnings() {
			fmt.Fprintf(&b, "%d: warn: %s\n", n, w)
		}
		if r := s.Running(); r != running {
			fmt.Fprintf(&b, "%d: running %q\n", n, r)
			running = r
		}
	}}
	feed(sp, stdout)
	sp.Close()
	outs, follow := s.Exit(x)
	all = append(all, outs...)
	for _, o := range outs {
		fmt.Fprintf(&b, "exit: %s\n", formatOutcome(o))
	}
	for _, w := range s.Warnings() {
		fmt.Fprintf(&b, "exit: warn: %s\n", w)
	}
	for _, f := range follow {
		fmt.Fprintf(&b, "follow-up: %q tests=%q\n", f.Args, f.Tests)
	}
	checkUnique(t, all)
	checkFollowUps(t, u, all, follow)
	return b.String()
}

// checkFollowUps: follow-ups run known tests not yet reported, once.
func checkFollowUps(t testing.TB, u *Unit, outs []Outcome, follow []*Unit) {
	t.Helper()
	reported := map[string]bool{}
	for _, o := range outs {
		reported[o.Test] = true
	}
	for _, f := range follow {
		if len(f.Tests) == 0 || f.Suite != u.Suite {
			t.Errorf("follow-up %s: tests=%q, same suite %v", f.Label, f.Tests, f.Suite == u.Suite)
		}
		for _, n := range f.Tests {
			if reported[n] || !has(u.Tests, n) {
				t.Errorf("follow-up runs %s: reported already, or not in the unit's tests %q", n, u.Tests)
			}
			reported[n] = true
		}
	}
}

// feeds are the ways output may arrive: all at once, line by line, and a
// few bytes at a time (splitting UTF-8 sequences).
var feeds = []struct {
	name string
	feed func(w io.Writer, data []byte)
}{
	{"whole", func(w io.Writer, data []byte) { w.Write(data) }},
	{"lines", func(w io.Writer, data []byte) {
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			w.Write(l)
		}
	}},
	{"bytes", func(w io.Writer, data []byte) {
		for i := 0; i < len(data); i += 3 {
			w.Write(data[i:min(i+3, len(data))])
		}
	}},
}

// testGolden runs every testdata/<name>/*.txtar case through a fresh
// session for each way of feeding it, and compares with the want section.
func testGolden(t *testing.T, name string) {
	files, err := filepath.Glob(filepath.Join("testdata", name, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden cases for %s: %v", name, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := parseTxtarFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c := parseGolden(t, ar)
			var got string
			for i, f := range feeds {
				tr := transcript(t, goldenUnit(t, name, c), c.stdout, c.exit, f.feed)
				if i > 0 && tr != got {
					t.Fatalf("fed %s, the transcript differs from fed %s:\n%s\nvs\n%s", f.name, feeds[0].name, tr, got)
				}
				got = tr
			}
			var want *txtarFile
			for i := range ar.Files {
				if ar.Files[i].Name == "want" {
					want = &ar.Files[i]
				}
			}
			if *update {
				if want == nil {
					ar.Files = append(ar.Files, txtarFile{Name: "want"})
					want = &ar.Files[len(ar.Files)-1]
				}
				want.Data = []byte(got)
				if err := os.WriteFile(file, ar.format(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want == nil {
				t.Fatalf("no want section (run with -update)")
			}
			if got != string(want.Data) {
				t.Errorf("transcript:\n%s\nwant:\n%s", got, want.Data)
			}
		})
	}
}

// fuzzSession feeds arbitrary output to a session of protocol name and
// checks that it neither panics nor reports a test twice, and that its
// follow-ups are sound. sel picks the unit (whole or batch) and the exit.
func fuzzSession(t *testing.T, name string, tests []string, data []byte, sel uint8) {
	c := goldenCase{runIgnored: sel&1 != 0}
	if sel&2 != 0 {
		c.tests = tests
	}
	exits := []Exit{
		{Code: 0}, {Code: 1}, {Code: 2}, {Code: 101}, {Code: -1, Signal: "SIGSEGV"},
		{Code: -1, TimedOut: true, Timeout: time.Second}, {Code: -1, Err: errors.New("no such file")},
	}
	x := exits[int(sel>>2)%len(exits)]
	u := goldenUnit(t, name, c)
	transcript(t, u, data, x, feeds[0].feed)
}

// goldenSeeds adds the stdout of the golden cases as fuzz seeds.
func goldenSeeds(f *testing.F, name string) {
	files, _ := filepath.Glob(filepath.Join("testdata", name, "*.txtar"))
	for i, file := range files {
		ar, err := parseTxtarFile(file)
		if err != nil {
			f.Fatal(err)
		}
		c := parseGolden(f, ar)
		f.Add(c.stdout, uint8(i))
		f.Add(c.stdout, uint8(i+3))
	}
}

// txtarArchive is the txtar format (a comment, then files introduced by
// "-- name --" lines), parsed here because the module does not require
// golang.org/x/tools.
type txtarArchive struct {
	Comment []byte
	Files   []txtarFile
}

type txtarFile struct {
	Name string
	Data []byte
}

func parseTxtarFile(path string) (*txtarArchive, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ar := &txtarArchive{}
	cur := &ar.Comment
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			data = nil
		}
		trimmed := bytes.TrimRight(line, "\n")
		if bytes.HasPrefix(trimmed, []byte("-- ")) && bytes.HasSuffix(trimmed, []byte(" --")) && len(trimmed) > 6 {
			ar.Files = append(ar.Files, txtarFile{Name: string(trimmed[3 : len(trimmed)-3])})
			cur = &ar.Files[len(ar.Files)-1].Data
			continue
		}
		*cur = append(*cur, line...)
	}
	return ar, nil
}

func (ar *txtarArchive) format() []byte {
	var b bytes.Buffer
	b.Write(ar.Comment)
	for _, f := range ar.Files {
		fmt.Fprintf(&b, "-- %s --\n", f.Name)
		b.Write(f.Data)
		if len(f.Data) > 0 && f.Data[len(f.Data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}
