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
	if r.Status == event.Timeout || r.Status == event.Crash {
		out = goDumpFirst(out)
	}
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

// goDumpFirst reorders a Go goroutine dump (SIGQUIT at a timeout, or a
// crash) so the runtime's own goroutines and the register dump come
// first, then other user code, and the goroutines running test code last,
// next to the verdict: every report keeps the tail of a long output, so
// the hung test's stack is the part that stays in view. Output without a
// dump is returned as it is.
func goDumpFirst(out []byte) []byte {
	start := goroutineHeader(out, 0)
	if start < 0 {
		return out
	}
	body := out[start:]
	blocks := bytes.SplitAfter(body, []byte("\n\n"))
	var tests, user, rest [][]byte
	for _, b := range blocks {
		switch {
		case !bytes.HasPrefix(b, []byte("goroutine ")):
			rest = append(rest, b) // registers, the exit line
		case bytes.Contains(b, []byte("_test.go:")):
			tests = append(tests, b)
		case goUserCode(b):
			user = append(user, b)
		default:
			rest = append(rest, b)
		}
	}
	if len(tests)+len(user) == 0 {
		return out
	}
	res := append([]byte(nil), out[:start]...)
	for _, g := range [][][]byte{rest, user, tests} {
		for _, b := range g {
			if !bytes.HasSuffix(b, []byte("\n\n")) {
				b = append(append([]byte(nil), b...), "\n\n"...)
			}
			res = append(res, b...)
		}
	}
	return res
}

// goroutineHeader returns the offset of the first "goroutine N [" line at
// or after from, or -1.
func goroutineHeader(out []byte, from int) int {
	for i := from; i < len(out); {
		if bytes.HasPrefix(out[i:], []byte("goroutine ")) && (i == 0 || out[i-1] == '\n') {
			return i
		}
		j := bytes.IndexByte(out[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
	}
	return -1
}

// goUserCode reports whether a goroutine's stack has a function outside
// the runtime and the testing package.
func goUserCode(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n"))[1:] {
		if len(l) == 0 || l[0] == '\t' || bytes.HasPrefix(l, []byte("created by ")) {
			continue
		}
		if !bytes.HasPrefix(l, []byte("runtime.")) && !bytes.HasPrefix(l, []byte("testing.")) &&
			!bytes.HasPrefix(l, []byte("internal/")) && !bytes.HasPrefix(l, []byte("sync.")) &&
			!bytes.HasPrefix(l, []byte("os/signal.")) {
			return true
		}
	}
	return false
}
