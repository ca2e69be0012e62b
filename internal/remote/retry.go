package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryPolicy bounds retries of transient failures with exponential backoff.
type retryPolicy struct {
	tries int           // attempts in all, including the first
	base  time.Duration // first delay
	max   time.Duration // longest delay
}

var defaultRetry = retryPolicy{tries: 5, base: 200 * time.Millisecond, max: 5 * time.Second}

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

// retry runs f until it succeeds, fails for good, or the tries are spent.
func (c *Client) retry(ctx context.Context, op string, f func() error) error {
	for n := 1; ; n++ {
		err := f()
		if err == nil {
			return nil
		}
		if !transient(err) || n >= c.policy.tries {
			return fmt.Errorf("%s: %w", op, err)
		}
		c.stats.retries.Add(1)
		if serr := c.policy.sleep(ctx, n); serr != nil {
			return fmt.Errorf("%s: %w (after %v)", op, serr, err)
		}
	}
}

// transient reports whether err may heal on its own.
func transient(err error) bool {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted:
		return !noWorker(st)
	}
	return false
}

// noWorker reports whether st says no worker can run the platform: an error
// that waiting will not heal.
func noWorker(st *status.Status) bool {
	if st.Code() != codes.Unavailable && st.Code() != codes.FailedPrecondition {
		return false
	}
	m := strings.ToLower(st.Message())
	return strings.Contains(m, "no worker") || strings.Contains(m, "platform")
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

// PlatformError says no worker of the server matches the platform sent.
type PlatformError struct {
	Platform string // the properties sent, as {k=v, ...}
	Message  string // what the server said
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("remote: no worker matches platform %s (server: %s)", e.Platform, e.Message)
}
