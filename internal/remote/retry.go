package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryPolicy says how transient failures are retried: with exponential
// backoff, for at most patience in all since the first failure.
type retryPolicy struct {
	base     time.Duration // first delay
	max      time.Duration // longest delay
	patience time.Duration // how long a transient failure is waited out
	tries    int           // bound on re-uploads and re-attachments of one action
}

// DefaultPatience is how long volley waits out a remote service that is
// unreachable, busy or without workers before giving up.
const DefaultPatience = 2 * time.Minute

var defaultRetry = retryPolicy{base: 200 * time.Millisecond, max: 5 * time.Second, patience: DefaultPatience, tries: 5}

// delay is the pause before attempt n+1 (n counts from 1), with ±25% jitter.
func (p retryPolicy) delay(n int) time.Duration {
	d := p.base << (n - 1)
	if d > p.max || d <= 0 {
		d = p.max
	}
	return d - d/4 + rand.N(d/2+1)
}

// sleep waits for the backoff before attempt n+1 or until ctx ends.
func (p retryPolicy) sleep(ctx context.Context, n int) error {
	t := time.NewTimer(p.delay(n))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// failure is what kind of error a call met.
type failure int

const (
	permanent   failure = iota // retrying will not change it
	noWorkers                  // UNAVAILABLE "No workers exist": workers are (re)connecting
	unreachable                // the connection failed: the service is down or restarting
	busy                       // RESOURCE_EXHAUSTED, ABORTED, other UNAVAILABLE
)

func classify(err error) failure {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return unreachable
	}
	st, ok := status.FromError(err)
	if !ok {
		return permanent
	}
	m := strings.ToLower(st.Message())
	switch st.Code() {
	case codes.Unavailable:
		switch {
		case strings.Contains(m, "no worker"):
			return noWorkers
		case strings.Contains(m, "connection") || strings.Contains(m, "dial") || strings.Contains(m, "transport") ||
			strings.Contains(m, "eof") || strings.Contains(m, "stopping"):
			return unreachable
		}
		return busy
	case codes.ResourceExhausted, codes.Aborted:
		return busy
	}
	return permanent
}

// patience tracks one operation's retries.
type patience struct {
	first time.Time
	n     int
}

// backoff decides after a failed attempt: nil means try again (after the
// pause), else the error to return. Errors that name a setting (platform,
// instance, authorization) are a *ConfigError; a transient failure that
// outlasted the patience is an *OutageError.
func (c *Client) backoff(ctx context.Context, p *patience, op string, err error) error {
	if cerr := c.configError(err); cerr != nil {
		return cerr
	}
	kind := classify(err)
	if kind == permanent || ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	now := time.Now()
	if p.first.IsZero() {
		p.first = now
	}
	p.n++
	if waited := now.Sub(p.first); waited >= c.policy.patience {
		return &OutageError{URL: c.cfg.URL, Instance: c.cfg.Instance, Platform: platformString(c.platform),
			Waited: waited.Round(time.Millisecond), Op: op, Err: err, Workers: kind == noWorkers}
	}
	c.stats.retries.Add(1)
	c.progress(ctx, kind, err)
	if serr := c.policy.sleep(ctx, p.n); serr != nil {
		return fmt.Errorf("%s: %w (after %v)", op, serr, err)
	}
	return nil
}

// retry runs f until it succeeds or backoff gives up.
func (c *Client) retry(ctx context.Context, op string, f func() error) error {
	var p patience
	for {
		err := f()
		if err == nil {
			return nil
		}
		if err := c.backoff(ctx, &p, op, err); err != nil {
			return err
		}
	}
}

// progressEvery is how often a continuing wait is reported again.
const progressEvery = 10 * time.Second

// progress tells the user what volley is waiting for: at the first failure
// of a kind, then at most every progressEvery.
func (c *Client) progress(ctx context.Context, kind failure, err error) {
	c.noteMu.Lock()
	last := c.noted[kind]
	now := time.Now()
	due := last.IsZero() || now.Sub(last) >= progressEvery
	if due {
		c.noted[kind] = now
	}
	c.noteMu.Unlock()
	if !due {
		return
	}
	msg := status.Convert(err).Message()
	switch kind {
	case noWorkers:
		c.say(ctx, fmt.Sprintf("waiting for workers: instance %q platform %s (server: %s); retrying for up to %s ...",
			c.cfg.Instance, platformString(c.platform), msg, c.policy.patience))
	case unreachable:
		c.say(ctx, fmt.Sprintf("remote service %s unreachable (%s), retrying for up to %s ...", c.cfg.URL, msg, c.policy.patience))
	default:
		c.say(ctx, fmt.Sprintf("remote service %s busy (%s: %s), retrying for up to %s ...", c.cfg.URL, status.Code(err), msg, c.policy.patience))
	}
}

// say gives msg to the context's progress function, else Config.Progress.
func (c *Client) say(ctx context.Context, msg string) {
	f := progressOf(ctx)
	if f == nil {
		f = c.cfg.Progress
	}
	if f != nil {
		f(msg)
	}
}

type progressKey struct{}

// WithProgress returns ctx carrying f, which Run calls with progress
// messages (waiting for workers, service unreachable) instead of
// Config.Progress.
func WithProgress(ctx context.Context, f func(string)) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

func progressOf(ctx context.Context) func(string) {
	f, _ := ctx.Value(progressKey{}).(func(string))
	return f
}

// configError returns a *ConfigError when err says that what volley asked
// for cannot be served as asked, else nil.
func (c *Client) configError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	m := strings.ToLower(st.Message())
	ce := &ConfigError{URL: c.cfg.URL, Instance: c.cfg.Instance, Platform: platformString(c.platform),
		Server: fmt.Sprintf("%s: %s", st.Code(), st.Message())}
	switch {
	case st.Code() == codes.Unavailable && (strings.Contains(m, "x509") || strings.Contains(m, "certificate") || strings.Contains(m, "tls:")):
		ce.Problem = "TLS handshake failed for"
		ce.Hint = "check --remote-ca (the CA that signed the server's certificate) and the URL's host"
	case st.Code() == codes.FailedPrecondition && strings.Contains(m, "no worker"):
		ce.Problem = "no worker matches"
		ce.Hint = "check --remote-platform (properties and values must match a worker's exactly) and --remote-instance"
	case (st.Code() == codes.InvalidArgument || st.Code() == codes.NotFound) && strings.Contains(m, "instance"):
		ce.Problem = "the server does not know"
		ce.Hint = "check --remote-instance"
	case st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied:
		ce.Problem = "the server refuses access for"
		ce.Hint = "check the credentials in --remote-headers-env / --remote-headers-file"
	case st.Code() == codes.Unimplemented:
		ce.Problem = "the server does not implement the Remote Execution API call it needs for"
		ce.Hint = "point --remote at the service's frontend (Buildbarn: bb_storage, not bb_scheduler)"
	default:
		return nil
	}
	return ce
}

// ConfigError says the service cannot run what volley asked for as asked:
// a platform no worker has, an unknown instance, refused credentials, or
// not a Remote Execution API frontend. Waiting will not heal it.
type ConfigError struct {
	URL      string
	Instance string // as sent
	Platform string // the properties sent, as {k=v, ...}
	Problem  string // "no worker matches"
	Hint     string // what to check
	Server   string // what the server said
}

func (e *ConfigError) Error() string {
	s := fmt.Sprintf("remote %s: %s instance %q platform %s (server: %s)", e.URL, e.Problem, e.Instance, e.Platform, e.Server)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// OutageError says the service stayed unreachable, busy or without workers
// for longer than the patience: the run could not complete, for reasons
// outside the tests.
type OutageError struct {
	URL      string
	Instance string
	Platform string
	Waited   time.Duration
	Op       string
	Workers  bool // it was waiting for workers, not for the service
	Err      error
}

func (e *OutageError) Error() string {
	if e.Workers {
		return fmt.Sprintf("remote %s: no worker for instance %q platform %s appeared in %s (%s: %v)",
			e.URL, e.Instance, e.Platform, e.Waited, e.Op, e.Err)
	}
	return fmt.Sprintf("remote %s: service unusable for %s, gave up (%s: %v)", e.URL, e.Waited, e.Op, e.Err)
}

func (e *OutageError) Unwrap() error { return e.Err }

// maxTimeoutRE reads the limit from Buildbarn's "Execution timeout of 3h0m0s
// exceeds maximum permitted value of 2h0m0s".
var maxTimeoutRE = regexp.MustCompile(`(?i)maximum permitted value of ([0-9][0-9hmsuµn.]*)`)

// timeoutLimit returns the server's maximum action timeout when st rejects
// the one sent for being too long.
func timeoutLimit(st *status.Status) (time.Duration, bool) {
	if st.Code() != codes.InvalidArgument {
		return 0, false
	}
	m := maxTimeoutRE.FindStringSubmatch(st.Message())
	if m == nil {
		return 0, false
	}
	d, err := time.ParseDuration(m[1])
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}

// missingBlobs returns the digests a FAILED_PRECONDITION names as MISSING.
func missingBlobs(st *status.Status) []*repb.Digest {
	if st.Code() != codes.FailedPrecondition {
		return nil
	}
	var out []*repb.Digest
	for _, d := range st.Details() {
		pf, ok := d.(*errdetails.PreconditionFailure)
		if !ok {
			continue
		}
		for _, v := range pf.GetViolations() {
			if v.GetType() != "MISSING" {
				continue
			}
			if dg, ok := parseBlobSubject(v.GetSubject()); ok {
				out = append(out, dg)
			}
		}
	}
	return out
}

// parseBlobSubject reads "blobs/{hash}/{size}".
func parseBlobSubject(s string) (*repb.Digest, bool) {
	rest, ok := strings.CutPrefix(s, "blobs/")
	if !ok {
		return nil, false
	}
	hash, size, ok := strings.Cut(rest, "/")
	if !ok || len(hash) != 64 {
		return nil, false
	}
	var n int64
	if _, err := fmt.Sscan(size, &n); err != nil || n < 0 {
		return nil, false
	}
	return &repb.Digest{Hash: hash, SizeBytes: n}, true
}
