package runner

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
	"github.com/volley-test/volley/internal/remote"
)

// Remote runs units on a remote execution service instead of locally.
type Remote interface {
	Run(ctx context.Context, s remote.Spec) (*remote.Result, error)
}

// remoteEnvKeep are the variables of volley's own environment a remote
// action gets; workers inherit nothing, so everything else is explicit.
var remoteEnvKeep = []string{"PATH", "LANG", "LC_ALL", "TZ"}

// remoteUnattended bounds a whole-suite action of a harness other than tml
// whose test count is unknown: the per-test timeout cannot be enforced line
// by line remotely, so the action's own timeout is this many per-test
// timeouts.
const remoteUnattended = 20

// executeRemote runs r's unit as one remote action and replays its output
// through the protocol's session as a local run would: stdout line by line,
// then stderr (a failing test writes its last words there, so they land on
// the test that did not report), then the exit, with the worker's signal,
// CPU and peak memory. The action's execution time is shared among the
// tests it reported, as the protocol gives no per-test times.
func executeRemote(ctx context.Context, rm Remote, r *running, out chan<- msg) {
	u := r.unit
	send := func(m msg) { m.r = r; out <- m }
	spec, outputs := remoteSpec(r)
	send(msg{started: true, next: u.Session.Running()})
	ctx = remote.WithProgress(ctx, func(m string) { send(msg{warns: []string{"remote: " + m}}) })
	begin := time.Now()
	res, err := rm.Run(ctx, spec)
	if err != nil {
		x := protocol.Exit{Code: -1, Err: fmt.Errorf("remote execution of %s: %w", u.Label, err)}
		outs, follow := u.Session.Exit(x)
		ei := &exitInfo{x: x, followUp: follow, end: time.Now()}
		var ce *remote.ConfigError
		var oe *remote.OutageError
		if errors.As(err, &ce) || errors.As(err, &oe) {
			// Nothing will run until the setting or the service is fixed:
			// the run stops, and what this unit did not run is not run,
			// not failed.
			ei.followUp, ei.fatal = nil, err
			r.stopped.Store(true)
		}
		send(msg{outcomes: outs, offset: r.capture.Len(), exited: ei})
		return
	}
	for local, remotePath := range outputs {
		if b, ok := res.Outputs[remotePath]; ok {
			_ = os.WriteFile(local, b, 0o644)
		}
	}
	var msgs []msg
	reported := 0
	readLines(bytes.NewReader(res.Stdout), r.capture, func(line []byte) {
		outs := u.Session.Line(line)
		warns := u.Session.Warnings()
		reported += len(outs)
		if len(outs) > 0 || len(warns) > 0 {
			msgs = append(msgs, msg{outcomes: outs, offset: r.capture.Len(), next: u.Session.Running(), warns: warns})
		}
	})
	_, _ = r.capture.Write(res.Stderr)
	x := protocol.Exit{Code: res.ExitCode, Signal: res.Signal, TimedOut: res.TimedOut, Timeout: res.Timeout}
	if x.Signal != "" {
		x.Code = -1
	}
	outs, follow := u.Session.Exit(x)
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
	ei := &exitInfo{x: x, followUp: follow, end: time.Now(), cpu: res.CPU, maxRSS: res.MaxRSS}
	msgs = append(msgs, msg{outcomes: outs, offset: r.capture.Len(), warns: u.Session.Warnings(), exited: ei})
	shareTime(msgs, rerun, begin, res)
	for _, m := range msgs {
		send(m)
	}
}

// shareTime gives each reported test an equal share of the action's
// execution time, in order from when the action started; unowned tests
// (run again elsewhere) keep their shares.
func shareTime(msgs []msg, unowned int, begin time.Time, res *remote.Result) {
	n := unowned
	for _, m := range msgs {
		n += len(m.outcomes)
	}
	if n == 0 {
		return
	}
	share := res.Duration / time.Duration(n)
	at := begin
	if d := time.Since(begin) - res.Duration; d > 0 {
		at = begin.Add(d) // the queueing and transfers came first
	}
	for _, m := range msgs {
		for i := range m.outcomes {
			m.outcomes[i].Start, m.outcomes[i].Duration, m.outcomes[i].Cached = at, share, res.Cached
			at = at.Add(share)
		}
	}
}

// suiteBound reports whether u is a whole tml suite, whose remote action is
// bounded by one per-test timeout (see remoteSpec).
func suiteBound(u *protocol.Unit) bool {
	return u.Suite.Protocol == "tml" && slices.Contains(u.Args, protocol.TMLRunAll)
}

// remoteSpec builds the action for r: its argv, an explicit environment
// and, for coverage files named in the environment, output paths fetched
// back to where the local merge expects them.
func remoteSpec(r *running) (remote.Spec, map[string]string) {
	u := r.unit
	spec := remote.Spec{Argv: r.argv, Cwd: u.Suite.Cwd, Inputs: u.Suite.Inputs, Timeout: r.timeout}
	switch {
	case suiteBound(u):
		// A tml suite as one action gets one per-test timeout: a hang
		// costs that, then the test that was running when it struck, and
		// the rest, run as --test-index actions of their own.
	case len(u.Tests) > 1:
		spec.Timeout = r.timeout * time.Duration(len(u.Tests))
	case len(u.Tests) == 0 && u.Suite.Protocol != "exec":
		spec.Timeout = r.timeout * remoteUnattended
	}
	if spec.Cwd == "" {
		spec.Cwd = filepath.Dir(u.Suite.Path)
	}
	keep := map[string]bool{}
	for _, k := range remoteEnvKeep {
		keep[k] = true
	}
	for _, kv := range u.Suite.Env {
		k, _, _ := strings.Cut(kv, "=")
		keep[k] = true
	}
	outputs := map[string]string{}
	for _, kv := range r.env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == protocol.TMLCoverageEnv:
			rel := fmt.Sprintf("volley-coverage-%d.txt", r.id)
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
