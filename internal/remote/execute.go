package remote

import (
	"context"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errLostOperation says the server no longer knows an operation: execute again.
var errLostOperation = status.Error(codes.Aborted, "operation lost by the server")

// execute runs the action until it yields an ExecuteResponse whose status is
// OK or DEADLINE_EXCEEDED. Missing inputs are uploaded again, transient
// failures waited out (see backoff), and a timeout above the server's
// maximum is a *timeoutTooLong.
func (c *Client) execute(ctx context.Context, p *prepared) (*repb.ExecuteResponse, error) {
	req := &repb.ExecuteRequest{
		InstanceName:      c.cfg.Instance,
		ActionDigest:      p.digest,
		SkipCacheLookup:   !c.cfg.CacheResults,
		DigestFunction:    repb.DigestFunction_SHA256,
		InlineStdout:      true,
		InlineStderr:      true,
		InlineOutputFiles: slicesKeys(p.outputs),
	}
	var wait patience
	for reuploads := 0; ; {
		c.stats.executions.Add(1)
		resp, err := c.executeOnce(ctx, req)
		if err == nil {
			st := status.FromProto(resp.GetStatus())
			if st.Code() == codes.OK || st.Code() == codes.DeadlineExceeded {
				return resp, nil
			}
			err = st.Err()
		}
		st, _ := status.FromError(err)
		if max, ok := timeoutLimit(st); ok {
			return nil, &timeoutTooLong{max: max, err: err}
		}
		if missing := missingBlobs(st); len(missing) > 0 {
			if reuploads++; reuploads > c.policy.tries {
				return nil, fmt.Errorf("inputs still missing after %d uploads: %w", c.policy.tries, err)
			}
			c.stats.retries.Add(1)
			if rerr := c.reupload(ctx, p, missing); rerr != nil {
				return nil, rerr
			}
			continue
		}
		if berr := c.backoff(ctx, &wait, "execute", err); berr != nil {
			return nil, berr
		}
	}
}

// timeoutTooLong says the server refused the action's timeout, and its limit.
type timeoutTooLong struct {
	max time.Duration
	err error
}

func (e *timeoutTooLong) Error() string { return e.err.Error() }

// reupload sends again the blobs the server reported missing.
func (c *Client) reupload(ctx context.Context, p *prepared, missing []*repb.Digest) error {
	c.forget(missing)
	var blobs []blob
	for _, d := range missing {
		b, ok := p.blobs[keyOf(d)]
		if !ok {
			return fmt.Errorf("server reports blob %s/%d missing, which this action does not use", d.GetHash(), d.GetSizeBytes())
		}
		blobs = append(blobs, b)
	}
	if err := c.write(ctx, blobs); err != nil {
		return fmt.Errorf("upload missing blobs: %w", err)
	}
	return nil
}

// executeOnce calls Execute and follows the operation to its end, re-attaching
// with WaitExecution when the stream drops before the operation is done.
func (c *Client) executeOnce(ctx context.Context, req *repb.ExecuteRequest) (*repb.ExecuteResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.exec.Execute(ctx, req)
	if err != nil {
		return nil, err
	}
	name, resp, err := follow(stream)
	for n := 1; resp == nil; n++ {
		if name == "" || !(err == io.EOF || classify(err) != permanent) {
			return nil, err
		}
		if n >= c.policy.tries {
			return nil, fmt.Errorf("operation %s: %w", name, err)
		}
		c.stats.retries.Add(1)
		if n > 1 {
			if serr := c.policy.sleep(ctx, n-1); serr != nil {
				return nil, serr
			}
		}
		var ws grpc.ServerStreamingClient[longrunningpb.Operation]
		ws, err = c.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: name})
		if err == nil {
			var got string
			got, resp, err = follow(ws)
			if got != "" {
				name = got
			}
		}
		if status.Code(err) == codes.NotFound {
			return nil, errLostOperation
		}
	}
	return resp, nil
}

// follow reads operations until one is done. It returns the operation name
// seen, and the response, or the error that ended the stream (io.EOF when it
// ended cleanly before the operation was done).
func follow(stream grpc.ServerStreamingClient[longrunningpb.Operation]) (string, *repb.ExecuteResponse, error) {
	var name string
	for {
		op, err := stream.Recv()
		if err != nil {
			return name, nil, err
		}
		if op.GetName() != "" {
			name = op.GetName()
		}
		if !op.GetDone() {
			continue
		}
		if e := op.GetError(); e != nil {
			return name, &repb.ExecuteResponse{Status: e}, nil
		}
		resp := &repb.ExecuteResponse{}
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			return name, nil, fmt.Errorf("operation %s: %w", name, err)
		}
		return name, resp, nil
	}
}

// cachedResult asks the action cache; nil, nil is a miss.
func (c *Client) cachedResult(ctx context.Context, d *repb.Digest) (*repb.ActionResult, error) {
	var ar *repb.ActionResult
	err := c.retry(ctx, "get action result", func() error {
		var err error
		ar, err = c.ac.GetActionResult(ctx, &repb.GetActionResultRequest{
			InstanceName:   c.cfg.Instance,
			ActionDigest:   d,
			InlineStdout:   true,
			InlineStderr:   true,
			DigestFunction: repb.DigestFunction_SHA256,
		})
		return err
	})
	if status.Code(err) == codes.NotFound {
		return nil, nil
	}
	return ar, err
}

func slicesKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}
