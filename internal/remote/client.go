package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/bazelbuild/remote-apis/build/bazel/semver"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Spec is one process to run remotely.
type Spec struct {
	Argv        []string      // argv[0] is a local executable, uploaded as an input
	Env         []string      // the complete environment (workers inherit nothing): include PATH
	Cwd         string        // local working directory; "" = the current one
	Inputs      []string      // further local files or directories the process reads
	OutputFiles []string      // paths relative to Cwd to fetch back (coverage files)
	Timeout     time.Duration // action timeout enforced by the server; 0 = server default
}

// Result is how a remote process ended, as the server reported it.
type Result struct {
	ExitCode int // as the server said: -1 for a signal death on Buildbarn
	// Signal names the signal that killed the process ("SIGSEGV"): the
	// worker's termination_signal (Buildbarn's POSIXResourceUsage), else
	// inferred from the 128+N exit code some workers report, else "".
	Signal string
	// CPU (user + system) and MaxRSS (bytes) as the worker measured them;
	// zero when the server does not report resource usage.
	CPU      time.Duration
	MaxRSS   int64
	Timeout  time.Duration // the action timeout sent (after clamping to the server's maximum)
	Stdout   []byte
	Stderr   []byte
	Outputs  map[string][]byte // by the Spec's OutputFiles entry; absent if not produced
	TimedOut bool              // the server killed it at Spec.Timeout (outputs may be partial)
	Cached   bool              // served from the action cache
	Duration time.Duration     // execution time reported by the worker, else wall time of Run
	Worker   string            // worker id reported by the server
}

// Stats counts a Client's traffic.
type Stats struct {
	BytesUploaded   int64
	BlobsUploaded   int64
	BytesDownloaded int64
	CacheHits       int64
	Retries         int64
	Executions      int64
	TimedOut        int64         // actions the server ended at their timeout
	TimeoutSpent    time.Duration // the sum of those actions' timeouts
	Clamped         time.Duration // the server's maximum action timeout, once one was met
}

// Client runs Specs on one REAPI server. It is safe for concurrent use.
type Client struct {
	cfg         Config
	conn        *grpc.ClientConn
	cas         repb.ContentAddressableStorageClient
	ac          repb.ActionCacheClient
	exec        repb.ExecutionClient
	bs          bytestream.ByteStreamClient
	platform    *repb.Platform
	maxBatch    int64
	outputPaths bool // server speaks v2.1+: Command.output_paths
	policy      retryPolicy
	jobs        chan struct{} // nil = unlimited
	files       fileDigests

	mu      sync.Mutex
	flights map[digestKey]*flight // uploads done or in progress

	maxTimeout atomic.Int64 // the server's maximum action timeout, once learned (ns)

	noteMu sync.Mutex
	noted  map[failure]time.Time // last progress message of each kind

	stats struct {
		bytesUp, blobsUp, bytesDown, cacheHits, retries, executions, timedOut, timeoutSpent atomic.Int64
	}
}

// Dial connects to the server, asks its capabilities and checks that it
// executes actions and speaks SHA-256.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	target, creds, err := cfg.dialTarget()
	if err != nil {
		return nil, err
	}
	md, err := cfg.headers()
	if err != nil {
		return nil, err
	}
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)),
	}, headerInterceptors(md)...)
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("remote %s: %w", cfg.URL, err)
	}
	c := &Client{
		cfg:      cfg,
		conn:     conn,
		cas:      repb.NewContentAddressableStorageClient(conn),
		ac:       repb.NewActionCacheClient(conn),
		exec:     repb.NewExecutionClient(conn),
		bs:       bytestream.NewByteStreamClient(conn),
		platform: platformOf(cfg.Platform),
		policy:   defaultRetry,
		flights:  map[digestKey]*flight{},
		noted:    map[failure]time.Time{},
	}
	if cfg.Patience > 0 {
		c.policy.patience = cfg.Patience
	}
	if cfg.Jobs > 0 {
		c.jobs = make(chan struct{}, cfg.Jobs)
	}
	if err := c.capabilities(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("remote %s: %w", cfg.URL, err)
	}
	return c, nil
}

func (c *Client) capabilities(ctx context.Context) error {
	var caps *repb.ServerCapabilities
	err := c.retry(ctx, "get capabilities", func() error {
		var err error
		caps, err = repb.NewCapabilitiesClient(c.conn).GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: c.cfg.Instance})
		return err
	})
	if err != nil {
		return err
	}
	cc, ec := caps.GetCacheCapabilities(), caps.GetExecutionCapabilities()
	notFrontend := func(why string) error {
		return &ConfigError{URL: c.cfg.URL, Instance: c.cfg.Instance, Platform: platformString(c.platform),
			Problem: "not a Remote Execution API frontend for", Server: why,
			Hint: "point --remote at the service's frontend, which serves both the CAS and execution (Buildbarn: bb_storage, not bb_scheduler)"}
	}
	switch {
	case cc == nil:
		return notFrontend("its capabilities have no CAS (cache_capabilities is unset)")
	case ec == nil || !ec.GetExecEnabled():
		return notFrontend("it does not execute actions (exec_enabled is false): a cache only")
	}
	sha := repb.DigestFunction_SHA256
	if !slices.Contains(cc.GetDigestFunctions(), sha) ||
		!(ec.GetDigestFunction() == sha || slices.Contains(ec.GetDigestFunctions(), sha)) {
		return &ConfigError{URL: c.cfg.URL, Instance: c.cfg.Instance, Platform: platformString(c.platform),
			Problem: "no SHA256 digest function for", Server: fmt.Sprintf("cache digest functions %v, execution %v", cc.GetDigestFunctions(), ec.GetDigestFunction()),
			Hint: "volley needs a service that speaks SHA256"}
	}
	c.maxBatch = cc.GetMaxBatchTotalSizeBytes()
	if c.maxBatch <= 0 {
		c.maxBatch = 4 << 20
	}
	c.outputPaths = atLeast(caps.GetHighApiVersion(), 2, 1)
	return nil
}

// atLeast reports whether v >= major.minor; an unset version is 2.0.
func atLeast(v *semver.SemVer, major, minor int32) bool {
	if v == nil {
		return false
	}
	if v.GetMajor() != major {
		return v.GetMajor() > major
	}
	return v.GetMinor() >= minor
}

// Stats returns the traffic counted so far.
func (c *Client) Stats() Stats {
	return Stats{
		BytesUploaded:   c.stats.bytesUp.Load(),
		BlobsUploaded:   c.stats.blobsUp.Load(),
		BytesDownloaded: c.stats.bytesDown.Load(),
		CacheHits:       c.stats.cacheHits.Load(),
		Retries:         c.stats.retries.Load(),
		Executions:      c.stats.executions.Load(),
		TimedOut:        c.stats.timedOut.Load(),
		TimeoutSpent:    time.Duration(c.stats.timeoutSpent.Load()),
		Clamped:         time.Duration(c.maxTimeout.Load()),
	}
}

// Close closes the connection.
func (c *Client) Close() error {
	return c.conn.Close()
}

// Run executes s remotely and waits for it. A process that fails or times
// out is a Result, not an error; errors are for what kept it from running.
func (c *Client) Run(ctx context.Context, s Spec) (*Result, error) {
	if c.jobs != nil {
		select {
		case c.jobs <- struct{}{}:
			defer func() { <-c.jobs }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	start := time.Now()
	if max := time.Duration(c.maxTimeout.Load()); max > 0 && s.Timeout > max {
		s.Timeout = max
	}
	for {
		res, err := c.run(ctx, s, start)
		var tl *timeoutTooLong
		if !errors.As(err, &tl) || s.Timeout <= tl.max {
			return res, err
		}
		if old := c.maxTimeout.Swap(int64(tl.max)); old != int64(tl.max) {
			c.say(ctx, fmt.Sprintf("the server's maximum action timeout is %s: actions asking for more (%s here) are limited to it", tl.max, s.Timeout))
		}
		s.Timeout = tl.max
	}
}

func (c *Client) run(ctx context.Context, s Spec, start time.Time) (*Result, error) {
	p, err := c.prepare(s)
	if err != nil {
		return nil, fmt.Errorf("remote: prepare %s: %w", argv0(s), err)
	}
	if c.cfg.CacheResults {
		ar, err := c.cachedResult(ctx, p.digest)
		if err != nil {
			return nil, fmt.Errorf("remote: %s: %w", argv0(s), err)
		}
		if ar != nil {
			c.stats.cacheHits.Add(1)
			res, err := c.result(ctx, p, ar, start)
			if err == nil {
				res.Cached = true
				res.Timeout = s.Timeout
				return res, nil
			}
			// An entry whose blobs are gone is a miss.
		}
	}
	if err := c.upload(ctx, p.blobs); err != nil {
		return nil, fmt.Errorf("remote: upload inputs of %s: %w", argv0(s), err)
	}
	resp, err := c.execute(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("remote: execute %s: %w", argv0(s), err)
	}
	res, err := c.result(ctx, p, resp.GetResult(), start)
	if err != nil {
		return nil, fmt.Errorf("remote: results of %s: %w", argv0(s), err)
	}
	if resp.GetCachedResult() {
		c.stats.cacheHits.Add(1)
		res.Cached = true
	}
	res.Timeout = s.Timeout
	res.TimedOut = codes.Code(resp.GetStatus().GetCode()) == codes.DeadlineExceeded
	if res.TimedOut {
		c.stats.timedOut.Add(1)
		c.stats.timeoutSpent.Add(int64(s.Timeout))
	}
	return res, nil
}

func argv0(s Spec) string {
	if len(s.Argv) == 0 {
		return "(empty argv)"
	}
	return s.Argv[0]
}
