package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/volley-test/volley/internal/event"
)

// Bounds on the output an annotation repeats: GitHub shows annotations in
// a small box, the full output is in the log.
const (
	annotateLines = 20
	annotateBytes = 4 << 10
)

// annotations is the GitHub Actions reporter: workflow commands that turn
// failures into annotations on the run's summary page.
type annotations struct {
	w    io.Writer
	h    history
	err  error
	done bool // the failures were written
}

// NewAnnotations returns a reporter that writes GitHub Actions workflow
// commands to w (the step's stdout): a "::warning" for each warning as it
// happens, and when the run ends an "::error" for each test whose last
// attempt failed and a "::warning" for each flaky test (failed, then passed
// on a rerun). Use it when GITHUB_ACTIONS=true. Close does not close w.
func NewAnnotations(w io.Writer) Reporter {
	return &annotations{w: w, h: history{keepOut: failed}}
}

func (a *annotations) Event(e *event.Event) {
	switch e.Kind {
	case event.TestEnd:
		if e.Result != nil {
			a.h.add(e.Result)
		}
	case event.Warn:
		title := "volley"
		if e.Suite != "" {
			title += ": " + e.Suite
		}
		a.write(command("warning", title, e.Message))
	case event.RunEnd:
		a.failures()
	}
}

// failures writes the annotations for failed and flaky tests, once.
func (a *annotations) failures() {
	if a.done {
		return
	}
	a.done = true
	var b strings.Builder
	for _, t := range a.h.tests {
		last := t.last()
		id := last.ID()
		switch {
		case t.failed():
			msg := cond(reason(last.Result) != "", reason(last.Result), last.Status.String())
			if n := len(t.attempts); n > 1 {
				msg += fmt.Sprintf(" (failed all %d attempts)", n)
			}
			if out := annotateOutput(last.out); out != "" {
				msg += "\n" + out
			}
			b.WriteString(command("error", "volley: "+last.Status.String()+" "+id, msg))
		case t.flaky():
			var fails []string
			for _, f := range t.attempts[:len(t.attempts)-1] {
				if failed(f.Result) {
					fails = append(fails, fmt.Sprintf("%s on attempt %d (%s)", f.Status, max(f.Attempt, 1), reason(f.Result)))
				}
			}
			msg := strings.Join(fails, ", ") + fmt.Sprintf("; %s on attempt %d", last.Status, last.Attempt)
			b.WriteString(command("warning", "volley: flaky "+id, msg))
		}
	}
	a.write(b.String())
}

// annotateOutput is the tail of an attempt's output an annotation repeats.
func annotateOutput(out string) string {
	s := lastLines(out, annotateLines)
	if len(s) > annotateBytes {
		cut := len(s) - annotateBytes
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		s = "…" + s[cut:]
	}
	return s
}

// command formats one workflow command line: "::name title=TITLE::MESSAGE".
func command(name, title, msg string) string {
	title, msg = cleanText([]byte(title)), cleanText([]byte(msg))
	return "::" + name + " title=" + escapeProperty(title) + "::" + escapeData(msg) + "\n"
}

// escapeData escapes a workflow command's message as GitHub's toolkit does.
func escapeData(s string) string {
	return dataEscaper.Replace(s)
}

// escapeProperty escapes a workflow command's property value: as a message,
// and ":" and "," too.
func escapeProperty(s string) string {
	return propertyEscaper.Replace(s)
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

func (a *annotations) write(s string) {
	if s == "" || a.err != nil {
		return
	}
	_, a.err = io.WriteString(a.w, s)
}

func (a *annotations) Close() error {
	a.failures()
	if a.err != nil {
		return fmt.Errorf("annotations: %w", a.err)
	}
	return nil
}
