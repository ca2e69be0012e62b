package remote

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/runner"
)

// runFunc is a Runner that answers with a function.
type runFunc func(ctx context.Context, s Spec) (*Result, error)

func (f runFunc) Run(ctx context.Context, s Spec) (*Result, error) { return f(ctx, s) }

// execute runs u through Executor with rn and returns what it reported.
func execute(t *testing.T, rn Runner, u *protocol.Unit, env []string) []runner.Event {
	t.Helper()
	p := &runner.Process{ID: 7, Unit: u, Argv: u.Argv(), Env: env, Timeout: time.Minute,
		Output: runner.NewCapture(t.TempDir()), Requests: make(chan runner.Request)}
	defer p.Output.Close()
	var got []runner.Event
	(&Executor{Runner: rn}).Execute(t.Context(), p, func(e runner.Event) { got = append(got, e) })
	return got
}

// A suite's output is replayed line by line; the action's time is shared
// among its tests; the exit comes last, with the worker's figures. The
// cookie stays home; the coverage file is fetched back.
func TestExecutorReplays(t *testing.T) {
	s := &protocol.Suite{Name: "s", Path: "/src/s", Protocol: "tap"}
	p, err := protocol.Lookup("tap")
	if err != nil {
		t.Fatal(err)
	}
	u := p.Units(s)[0]
	var spec Spec
	rn := runFunc(func(ctx context.Context, sp Spec) (*Result, error) {
		spec = sp
		progressOf(ctx)("waiting for a worker")
		return &Result{Stdout: []byte("1..2\nok 1 - a\nok 2 - b\n"), Duration: 2 * time.Second, CPU: time.Second, MaxRSS: 5}, nil
	})
	got := execute(t, rn, u, []string{"PATH=/bin", proc.CookieVar + "=x.7", "SECRET=1", protocol.TMLCoverageEnv + "=/tmp/cov"})
	if len(got) < 3 {
		t.Fatalf("%d events: %#v", len(got), got)
	}
	if st, ok := got[0].(*runner.Started); !ok || st.PID != 0 {
		t.Errorf("first event %#v, want Started without a pid", got[0])
	}
	if w, ok := got[1].(*runner.Warning); !ok || w.Message != "remote: waiting for a worker" {
		t.Errorf("second event %#v, want the progress warning", got[1])
	}
	ex, ok := got[len(got)-1].(*runner.Exited)
	if !ok || ex.CPU != time.Second || ex.MaxRSS != 5 || ex.Fatal != nil {
		t.Fatalf("last event %#v, want Exited with the worker's CPU and memory", got[len(got)-1])
	}
	var outs []protocol.Outcome
	for _, e := range got {
		switch e := e.(type) {
		case *runner.Reported:
			outs = append(outs, e.Outcomes...)
		case *runner.Exited:
			outs = append(outs, e.Outcomes...)
		}
	}
	if len(outs) != 2 || outs[0].Status != event.Pass || outs[0].Duration != time.Second || !outs[1].Start.After(outs[0].Start) {
		t.Errorf("outcomes %+v, want two passes sharing the 2s in order", outs)
	}
	env := strings.Join(spec.Env, " ")
	if strings.Contains(env, proc.CookieVar) || strings.Contains(env, "SECRET") || !strings.Contains(env, "PATH=/bin") ||
		!strings.Contains(env, protocol.TMLCoverageEnv+"=volley-coverage-7.txt") {
		t.Errorf("action env %q", env)
	}
}

// A setting the service rejects or a service that stays down is fatal to
// the run, and leaves nothing to follow up; another error fails the unit.
func TestExecutorFatal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		fatal bool
	}{
		{"config", &ConfigError{URL: "grpc://x", Problem: "no worker matches"}, true},
		{"outage", &OutageError{URL: "grpc://x", Err: errors.New("unavailable")}, true},
		{"other", errors.New("upload: disk full"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &protocol.Suite{Name: "s", Path: "/src/s", Protocol: "exec"}
			got := execute(t, runFunc(func(context.Context, Spec) (*Result, error) { return nil, tc.err }), protocol.Exec{}.Units(s)[0], nil)
			ex, ok := got[len(got)-1].(*runner.Exited)
			if !ok {
				t.Fatalf("last event %#v, want Exited", got[len(got)-1])
			}
			if (ex.Fatal != nil) != tc.fatal || tc.fatal && !errors.Is(ex.Fatal, tc.err) {
				t.Errorf("Fatal = %v, want fatal %v", ex.Fatal, tc.fatal)
			}
			if !errors.Is(ex.Exit.Err, tc.err) || len(ex.Outcomes) != 1 || !ex.Outcomes[0].Status.Failed() {
				t.Errorf("exit %+v, outcomes %+v: want the unit failed with the error", ex.Exit, ex.Outcomes)
			}
		})
	}
}
