package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/runner"
)

// Runner runs one action; *Client is one.
type Runner interface {
	Run(ctx context.Context, s Spec) (*Result, error)
}

// Executor runs the dispatcher's processes as remote actions
// (runner.Options.Executor); the run's jobs are then remote concurrency.
type Executor struct {
	Runner Runner
}

// envKeep are the variables of volley's own environment a remote action
// gets; workers inherit nothing, so everything else is explicit.
var envKeep = []string{"PATH", "LANG", "LC_ALL", "TZ"}

// unattended bounds a whole-suite action of a harness other than tml whose
// test count is unknown: the per-test timeout cannot be enforced line by
// line remotely, so the action's own timeout is this many per-test
// timeouts.
const unattended = 20

// Execute runs p's unit as one remote action and replays its output
// through the protocol's session as a local run would: stdout line by
// line, then stderr (a failing test writes its last words there, so they
// land on the test that did not report), then the exit, with the worker's
// signal, CPU and peak memory. The action's execution time is shared among
// the tests it reported, as the protocol gives no per-test times. The
// process is not on this machine: it reports no pid, and the action's
// timeout, not the dispatcher, bounds it; its requests are ignored, and an
// interrupt cancels ctx. A setting the service rejects (ConfigError) or a
// service that stays down (OutageError) is fatal to the run.
func (x *Executor) Execute(ctx context.Context, p *runner.Process, report func(runner.Event)) {
	u := p.Unit
	defer p.DropRequests()() // a remote process takes no requests
	spec, outputs := actionSpec(p)
	report(&runner.Started{Next: u.Session.Running()})
	ctx = WithProgress(ctx, func(m string) { report(&runner.Warning{Message: "remote: " + m}) })
	begin := time.Now()
	res, err := x.Runner.Run(ctx, spec)
	if err != nil {
		ex := protocol.Exit{Code: -1, Err: fmt.Errorf("remote execution of %s: %w", u.Label, err)}
		outs, follow := u.Session.Exit(ex)
		e := &runner.Exited{Reported: runner.Reported{Outcomes: outs, Offset: p.Output.Len()}, Exit: ex, FollowUp: follow, End: time.Now()}
		var ce *ConfigError
		var oe *OutageError
		if errors.As(err, &ce) || errors.As(err, &oe) {
			// Nothing will run until the setting or the service is fixed:
			// the run stops, and what this unit did not run is not run,
			// not failed.
			e.FollowUp, e.Fatal = nil, err
		}
		report(e)
		return
	}
	for local, remotePath := range outputs {
		if b, ok := res.Outputs[remotePath]; ok {
			_ = os.WriteFile(local, b, 0o644)
		}
	}
	var reps []*runner.Reported
	reported := 0
	runner.ReadLines(bytes.NewReader(res.Stdout), p.Output, func(line []byte) {
		outs := u.Session.Line(line)
		warns := u.Session.Warnings()
		reported += len(outs)
		if len(outs) > 0 || len(warns) > 0 {
			reps = append(reps, &runner.Reported{Outcomes: outs, Offset: p.Output.Len(), Next: u.Session.Running(), Warnings: warns})
		}
	})
	_, _ = p.Output.Write(res.Stderr)
	ex := protocol.Exit{Code: res.ExitCode, Signal: res.Signal, TimedOut: res.TimedOut, Timeout: res.Timeout}
	if ex.Signal != "" {
		ex.Code = -1
	}
	outs, follow := u.Session.Exit(ex)
	rerun := 0
	if res.TimedOut && suiteBound(u) && reported > 0 {
		// The action's bound is one per-test timeout for the whole suite:
		// the test that was running when it struck has not proven itself
		// hung. It runs again alone, under its own per-test timeout.
		kept := outs[:0]
		for _, o := range outs {
			if o.Status == event.Timeout && o.Test != "" {
				if again := protocol.RetryUnit(u.Suite, o.Test); again != nil {
					follow = append([]*protocol.Unit{again}, follow...)
					rerun++
					continue
				}
			}
			kept = append(kept, o)
		}
		outs = kept
	}
	end := &runner.Exited{
		Reported: runner.Reported{Outcomes: outs, Offset: p.Output.Len(), Warnings: u.Session.Warnings()},
		Exit:     ex, FollowUp: follow, End: time.Now(), CPU: res.CPU, MaxRSS: res.MaxRSS,
	}
	reps = append(reps, &end.Reported)
	shareTime(reps, rerun, begin, res)
	for _, r := range reps[:len(reps)-1] {
		report(r)
	}
	report(end)
}

// shareTime gives each reported test an equal share of the action's
// execution time, in order from when the action started; unowned tests
// (run again elsewhere) keep their shares.
func shareTime(reps []*runner.Reported, unowned int, begin time.Time, res *Result) {
	n := unowned
	for _, r := range reps {
		n += len(r.Outcomes)
	}
	if n == 0 {
		return
	}
	share := res.Duration / time.Duration(n)
	at := begin
	if d := time.Since(begin) - res.Duration; d > 0 {
		at = begin.Add(d) // the queueing and transfers came first
	}
	for _, r := range reps {
		for i := range r.Outcomes {
			r.Outcomes[i].Start, r.Outcomes[i].Duration, r.Outcomes[i].Cached = at, share, res.Cached
			at = at.Add(share)
		}
	}
}

// suiteBound reports whether u is a whole tml suite, whose remote action is
// bounded by one per-test timeout (see actionSpec).
func suiteBound(u *protocol.Unit) bool {
	return u.Suite.Protocol == "tml" && slices.Contains(u.Args, protocol.TMLRunAll)
}

// actionSpec builds the action for p: its argv, an explicit environment
// and, for coverage files named in the environment, output paths fetched
// back to where the local merge expects them.
func actionSpec(p *runner.Process) (Spec, map[string]string) {
	u := p.Unit
	spec := Spec{Argv: p.Argv, Cwd: u.Suite.Cwd, Inputs: u.Suite.Inputs, Timeout: p.Timeout}
	switch {
	case suiteBound(u):
		// A tml suite as one action gets one per-test timeout: a hang
		// costs that, then the test that was running when it struck, and
		// the rest, run as --test-index actions of their own.
	case len(u.Tests) > 1:
		spec.Timeout = p.Timeout * time.Duration(len(u.Tests))
	case len(u.Tests) == 0 && u.Suite.Protocol != "exec":
		spec.Timeout = p.Timeout * unattended
	}
	if spec.Cwd == "" {
		spec.Cwd = filepath.Dir(u.Suite.Path)
	}
	keep := map[string]bool{}
	for _, k := range envKeep {
		keep[k] = true
	}
	for _, kv := range u.Suite.Env {
		k, _, _ := strings.Cut(kv, "=")
		keep[k] = true
	}
	outputs := map[string]string{}
	for _, kv := range p.Env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == protocol.TMLCoverageEnv:
			rel := fmt.Sprintf("volley-coverage-%d.txt", p.ID)
			outputs[v] = rel
			spec.OutputFiles = append(spec.OutputFiles, rel)
			spec.Env = append(spec.Env, k+"="+rel)
		case k == proc.CookieVar:
			// A per-run marker for local sweeping; remotely it would only
			// make every action unique and defeat the action cache.
		case keep[k] || strings.HasPrefix(k, "VOLLEY_"):
			spec.Env = append(spec.Env, kv)
		}
	}
	return spec, outputs
}
