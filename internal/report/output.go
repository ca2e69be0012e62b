package report

import (
	"bytes"
	"strings"

	"github.com/volley-test/volley/internal/event"
)

// goFrame starts the lines a Go test binary run with -test.v=test2json
// writes to frame its tests (`=== RUN`, `--- FAIL: ...`).
const goFrame = 0x16

// testOutput is the output of r as its reports show it. A Go test's
// test2json framing is read, not shown: `=== RUN/PAUSE/CONT/NAME` lines
// are dropped, `--- PASS/FAIL/SKIP` lines keep their text (as `go test`
// prints them), and for a test that failed or passed by itself the lines
// the framing attributes to other tests running beside it are left out. A
// crash or timeout keeps every line, since its panic or stack dump comes
// on standard error, outside the framing.
func testOutput(r *event.Result) []byte {
	out := r.Output
	if bytes.IndexByte(out, goFrame) < 0 {
		return out
	}
	filter := r.Test != "" && (r.Status == event.Pass || r.Status == event.Fail || r.Status == event.Skip)
	var b bytes.Buffer
	b.Grow(len(out))
	cur := "" // the test the framing says the next lines belong to; "" = unknown
	for rest := out; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if line[0] != goFrame {
			if !filter || cur == "" || goTop(cur) == r.Test {
				b.Write(line)
			}
			continue
		}
		text := strings.TrimRight(string(line[1:]), "\r\n")
		if name, ok := strings.CutPrefix(text, "=== "); ok {
			if _, n, ok := strings.Cut(name, " "); ok {
				cur = strings.TrimSpace(n)
			}
			continue
		}
		if name, ok := goResultLine(text); ok {
			cur = name // an example's got/want follows its FAIL line
			if !filter || goTop(name) == r.Test {
				b.WriteString(strings.TrimLeft(text, " "))
				b.WriteByte('\n')
			}
			continue
		}
		if !filter || cur == "" || goTop(cur) == r.Test {
			b.WriteString(text) // the PASS/FAIL trailer
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// goResultLine returns the test named by a `--- VERDICT: name (0.01s)` line.
func goResultLine(l string) (string, bool) {
	l = strings.TrimLeft(l, " ")
	for _, p := range []string{"--- PASS: ", "--- FAIL: ", "--- SKIP: "} {
		if rest, ok := strings.CutPrefix(l, p); ok {
			if i := strings.LastIndex(rest, " ("); i >= 0 {
				rest = rest[:i]
			}
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

func goTop(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		return name[:i]
	}
	return name
}
