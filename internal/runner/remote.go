package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// remoteUnattended bounds a whole-suite action whose test count is unknown:
// the per-test timeout cannot be enforced line by line remotely, so the
// action's own timeout is this many per-test timeouts.
const remoteUnattended = 20

// executeRemote runs r's unit as one remote action and replays its output
// through the protocol's session exactly as a local run would.
func executeRemote(ctx context.Context, rm Remote, r *running, out chan<- msg) {
	u := r.unit
	send := func(m msg) { m.r = r; out <- m }
	spec, outputs := remoteSpec(r)
	send(msg{started: true, next: u.Session.Running()})
	res, err := rm.Run(ctx, spec)
	if err != nil {
		x := protocol.Exit{Code: -1, Err: fmt.Errorf("remote execution of %s: %w", u.Label, err)}
		outs, follow := u.Session.Exit(x)
		ei := &exitInfo{x: x, followUp: follow, end: time.Now()}
		var pe *remote.ConfigError
		if errors.As(err, &pe) {
			// No worker will ever take it: the whole run stops.
			ei.followUp, ei.fatal = nil, err
		}
		send(msg{outcomes: outs, offset: r.capture.Len(), exited: ei})
		return
	}
	for local, remotePath := range outputs {
		if b, ok := res.Outputs[remotePath]; ok {
			_ = os.WriteFile(local, b, 0o644)
		}
	}
	_, _ = r.capture.Write(res.Stderr)
	readLines(bytes.NewReader(res.Stdout), r.capture, func(line []byte) {
		outs := u.Session.Line(line)
		warns := u.Session.Warnings()
		if len(outs) > 0 || len(warns) > 0 {
			send(msg{outcomes: outs, offset: r.capture.Len(), next: u.Session.Running(), warns: warns})
		}
	})
	x := protocol.Exit{Code: res.ExitCode, Signal: res.Signal, TimedOut: res.TimedOut, Timeout: spec.Timeout}
	if x.Signal != "" {
		x.Code = -1
	}
	outs, follow := u.Session.Exit(x)
	send(msg{outcomes: outs, offset: r.capture.Len(), warns: u.Session.Warnings(),
		exited: &exitInfo{x: x, followUp: follow, end: time.Now()}})
}

// remoteSpec builds the action for r: its argv, an explicit environment
// and, for coverage files named in the environment, output paths fetched
// back to where the local merge expects them.
func remoteSpec(r *running) (remote.Spec, map[string]string) {
	u := r.unit
	spec := remote.Spec{Argv: r.argv, Cwd: u.Suite.Cwd, Inputs: u.Suite.Inputs, Timeout: r.timeout}
	if len(u.Tests) > 1 {
		spec.Timeout = r.timeout * time.Duration(len(u.Tests))
	} else if len(u.Tests) == 0 && u.Suite.Protocol != "exec" {
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
