package protocol

import "github.com/volley-test/volley/internal/event"

// ExitSkip is the automake convention for a skipped test.
const ExitSkip = 77

// Exec is the simplest harness: one executable is one test; exit 0 passes,
// 77 skips, anything else fails; death by a signal is a crash.
type Exec struct{}

func init() { register(Exec{}) }

// Name implements Protocol.
func (Exec) Name() string { return "exec" }

// Units implements Protocol.
func (Exec) Units(s *Suite) []*Unit {
	return []*Unit{{Suite: s, Label: s.Name, Session: &execSession{}}}
}

type execSession struct{}

func (*execSession) Line([]byte) []Outcome { return nil }
func (*execSession) Running() string       { return "" }
func (*execSession) Warnings() []string    { return nil }

func (*execSession) Exit(x Exit) ([]Outcome, []*Unit) {
	o := Outcome{ExitCode: x.Code, Reason: describeExit(x)}
	switch {
	case x.Err != nil:
		o.Status = event.Error
	case x.TimedOut:
		o.Status = event.Timeout
	case x.Signal != "":
		o.Status = event.Crash
	case x.Code == 0:
		o.Status, o.Reason = event.Pass, ""
	case x.Code == ExitSkip:
		o.Status, o.Reason = event.Skip, "exit code 77 (skip)"
	default:
		o.Status = event.Fail
	}
	return []Outcome{o}, nil
}
