package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestAnnotationsGolden(t *testing.T) {
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			var buf bytes.Buffer
			checkGolden(t, "annotate-"+s.name, feed(t, NewAnnotations(&buf), &buf, s.events()))
		})
	}
}

// TestAnnotationsOneLineEach checks every command is one line starting with
// "::", whatever the output held: a newline in a message would end the
// command and print the rest as plain log text.
func TestAnnotationsOneLineEach(t *testing.T) {
	var buf bytes.Buffer
	out := feed(t, NewAnnotations(&buf), &buf, flakyRun())
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var errs, warns int
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "::error title=volley%3A "):
			errs++
		case strings.HasPrefix(l, "::warning title=volley"):
			warns++
		default:
			t.Errorf("not a workflow command: %q", l)
		}
		if strings.ContainsAny(l, "\r\x00\x1b") {
			t.Errorf("command holds a control character: %q", l)
		}
		if strings.Count(l, "::") < 2 {
			t.Errorf("command without a message: %q", l)
		}
	}
	// beta crashed, gamma::1 failed twice; gamma::2 is flaky; two warnings.
	if errs != 2 || warns != 3 {
		t.Errorf("%d errors and %d warnings, want 2 and 3:\n%s", errs, warns, out)
	}
}

func TestEscapeCommand(t *testing.T) {
	got := command("error", "volley: FAIL a::b, c%", "why: 100%\r\nnext, line")
	want := "::error title=volley%3A FAIL a%3A%3Ab%2C c%25::why: 100%25%0Anext, line\n"
	if got != want {
		t.Errorf("command() = %q, want %q", got, want)
	}
}
