package reapitest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Options configure a Server. The zero value is a plain, faultless server
// for an empty platform.
type Options struct {
	// Platform is the one worker platform; an action must ask for exactly
	// these properties, else Execute fails FAILED_PRECONDITION "No workers
	// exist for instance name prefix ...", as Buildbarn's scheduler does once
	// its platform queues are settled.
	Platform map[string]string
	// Instances, when set, are the only instance names served; any other
	// fails INVALID_ARGUMENT "Unknown instance name", as bb_storage says.
	Instances []string
	// NoWorkers: the first N Executes fail UNAVAILABLE "No workers exist
	// ...", as Buildbarn answers while workers reconnect after a scheduler
	// restart.
	NoWorkers int
	// MaxExecutionTimeout: actions asking for a longer timeout fail
	// INVALID_ARGUMENT "Execution timeout of X exceeds maximum permitted
	// value of Y", as bb_worker's maximumExecutionTimeout does (0 = none).
	MaxExecutionTimeout time.Duration
	// ExitCode128 reports a signal death as exit code 128+N with no
	// resource usage, as some workers do, instead of Buildbarn's exit code
	// -1 with buildbarn.resourceusage.POSIXResourceUsage.
	ExitCode128 bool
	// OutageAfter: at the Nth Execute the server stops listening (every
	// connection is cut, new ones are refused) for OutageFor, then serves
	// again on the same address, keeping its CAS and operations. OutageFor
	// 0 means for good.
	OutageAfter int
	OutageFor   time.Duration
	// MaxBatchTotalSizeBytes is advertised in capabilities (0 = 1 MiB).
	MaxBatchTotalSizeBytes int64
	// HighAPIVersion is the newest API version advertised, "2.0" to "2.11"
	// ("" = 2.3). Below 2.1 the server reads Command.output_files.
	HighAPIVersion string
	// Workers is how many actions run at once (0 = unlimited).
	Workers int
	// Delay is how long a worker waits before running each action.
	Delay time.Duration
	// Inline honours inline_stdout/inline_stderr/inline_output_files.
	Inline bool
	// DropExecuteStreams: the first N Execute streams end with UNAVAILABLE
	// after their first message; the action goes on and WaitExecution
	// finds it.
	DropExecuteStreams int
	// Unavailable: the first N calls of UnavailableMethods (short names like
	// "Execute" or "FindMissingBlobs"; empty = every method but
	// GetCapabilities) fail with UNAVAILABLE.
	Unavailable        int
	UnavailableMethods []string
	// LoseBlobs: the first N Executes delete a file blob of the input root
	// from the CAS first, so they fail FAILED_PRECONDITION with a MISSING
	// violation.
	LoseBlobs int
	// DigestFunction is the one digest function advertised ("" = "SHA256").
	DigestFunction string
	// NoCAS leaves the CAS out of the capabilities, as Buildbarn's
	// scheduler answers when a client dials it instead of the frontend.
	NoCAS bool
	// CertFile and KeyFile make the server speak TLS.
	CertFile, KeyFile string
}

// Counts is what a Server has received.
type Counts struct {
	BlobsReceived  int64 // blobs stored by BatchUpdateBlobs and ByteStream Write
	BytesReceived  int64 // their bytes
	Executes       int64 // Execute calls past injected UNAVAILABLE faults
	WaitExecutions int64 // WaitExecution calls
	CacheHits      int64 // GetActionResult or Execute served from the action cache
}

// Server is a running test server.
type Server struct {
	opts  Options
	lis   net.Listener // (mu) replaced after an outage
	grpc  *grpc.Server // (mu)
	creds credentials.TransportCredentials
	ctx   context.Context // ends when the server stops: cancels running actions
	stop  context.CancelFunc

	mu          sync.Mutex
	cas         map[string][]byte // "hash/size" -> data
	received    map[string]int    // "hash/size" -> times stored
	ac          map[string]*repb.ActionResult
	ops         map[string]*operation
	md          metadata.MD // every incoming header seen
	calls       map[string]int
	unavailable int
	drops       int
	loses       int
	noWorkers   int
	down        bool // in an outage

	workers chan struct{}
	counts  struct{ blobs, bytes, executes, waits, hits atomic.Int64 }
	opSeq   atomic.Int64
	wg      sync.WaitGroup
}

// Start listens on 127.0.0.1:0 and serves until ctx ends or Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:        opts,
		lis:         lis,
		cas:         map[string][]byte{},
		received:    map[string]int{},
		ac:          map[string]*repb.ActionResult{},
		ops:         map[string]*operation{},
		md:          metadata.MD{},
		calls:       map[string]int{},
		unavailable: opts.Unavailable,
		drops:       opts.DropExecuteStreams,
		loses:       opts.LoseBlobs,
		noWorkers:   opts.NoWorkers,
	}
	if opts.Workers > 0 {
		s.workers = make(chan struct{}, opts.Workers)
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			lis.Close()
			return nil, err
		}
		s.creds = credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})
	}
	s.grpc = s.newGRPC()
	go s.grpc.Serve(lis)
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.ctx.Done():
		}
	}()
	return s, nil
}

func (s *Server) newGRPC() *grpc.Server {
	sopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unary),
		grpc.ChainStreamInterceptor(s.stream),
		grpc.MaxRecvMsgSize(64 << 20),
	}
	if s.creds != nil {
		sopts = append(sopts, grpc.Creds(s.creds))
	}
	g := grpc.NewServer(sopts...)
	repb.RegisterCapabilitiesServer(g, capabilities{s})
	repb.RegisterContentAddressableStorageServer(g, cas{s: s})
	repb.RegisterActionCacheServer(g, actionCache{s: s})
	repb.RegisterExecutionServer(g, execution{s: s})
	bytestream.RegisterByteStreamServer(g, &byteStream{s: s})
	return g
}

// outage stops serving for d (for good when d is 0), then serves again on
// the same address.
func (s *Server) outage(d time.Duration) {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return
	}
	s.down = true
	g := s.grpc
	s.mu.Unlock()
	g.Stop() // closes the listener and cuts every connection
	if d <= 0 {
		return
	}
	select {
	case <-time.After(d):
	case <-s.ctx.Done():
		return
	}
	addr := s.lis.Addr().String()
	var lis net.Listener
	for {
		var err error
		if lis, err = net.Listen("tcp", addr); err == nil {
			break
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-s.ctx.Done():
			return
		}
	}
	s.mu.Lock()
	s.lis, s.grpc, s.down = lis, s.newGRPC(), false
	g = s.grpc
	s.mu.Unlock()
	go g.Serve(lis)
}

// Addr is host:port.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lis.Addr().String()
}

// URL is grpc://host:port, or grpcs:// with TLS.
func (s *Server) URL() string {
	if s.opts.CertFile != "" {
		return "grpcs://" + s.Addr()
	}
	return "grpc://" + s.Addr()
}

// Close stops serving and kills running actions.
func (s *Server) Close() {
	s.stop()
	s.mu.Lock()
	g := s.grpc
	s.mu.Unlock()
	g.Stop()
	s.wg.Wait()
}

// Counts returns what the server has received so far.
func (s *Server) Counts() Counts {
	return Counts{
		BlobsReceived:  s.counts.blobs.Load(),
		BytesReceived:  s.counts.bytes.Load(),
		Executes:       s.counts.executes.Load(),
		WaitExecutions: s.counts.waits.Load(),
		CacheHits:      s.counts.hits.Load(),
	}
}

// Received is how many times the blob with this hash was stored.
func (s *Server) Received(hash string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.received {
		if strings.HasPrefix(k, hash+"/") {
			n += c
		}
	}
	return n
}

// Calls is how many calls of a method (short name, e.g. "Execute") arrived,
// including those failed by injected faults.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Header returns the distinct values of an incoming header seen on any call.
func (s *Server) Header(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.md.Get(key))
}

// intercept records headers and injects UNAVAILABLE.
func (s *Server) intercept(ctx context.Context, method string) error {
	short := method[strings.LastIndex(method, "/")+1:]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[short]++
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, vs := range md {
			for _, v := range vs {
				if !slices.Contains(s.md[k], v) {
					s.md[k] = append(s.md[k], v)
				}
			}
		}
	}
	if s.unavailable > 0 && short != "GetCapabilities" &&
		(len(s.opts.UnavailableMethods) == 0 || slices.Contains(s.opts.UnavailableMethods, short)) {
		s.unavailable--
		return status.Errorf(codes.Unavailable, "injected: server busy (%s)", short)
	}
	return nil
}

func (s *Server) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.intercept(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	if r, ok := req.(interface{ GetInstanceName() string }); ok {
		if err := s.checkInstance(r.GetInstanceName()); err != nil {
			return nil, err
		}
	}
	return h(ctx, req)
}

// checkInstance fails an instance name the server does not serve.
func (s *Server) checkInstance(name string) error {
	if len(s.opts.Instances) == 0 || slices.Contains(s.opts.Instances, name) {
		return nil
	}
	return status.Errorf(codes.InvalidArgument, "Unknown instance name: %q", name)
}

func (s *Server) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.intercept(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

// put stores a blob the server produced (not counted as received).
func (s *Server) put(data []byte) *repb.Digest {
	d := digestOf(data)
	s.mu.Lock()
	s.cas[key(d)] = data
	s.mu.Unlock()
	return d
}

// receive stores a blob a client sent, counting it.
func (s *Server) receive(d *repb.Digest, data []byte) {
	s.mu.Lock()
	s.cas[key(d)] = data
	s.received[key(d)]++
	s.mu.Unlock()
	s.counts.blobs.Add(1)
	s.counts.bytes.Add(int64(len(data)))
}

func (s *Server) get(d *repb.Digest) ([]byte, bool) {
	if d.GetSizeBytes() == 0 {
		return nil, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.cas[key(d)]
	return b, ok
}

type operation struct {
	name string
	done chan struct{}
	op   *longrunningpb.Operation // final, once done is closed
}

func (s *Server) newOperation() *operation {
	op := &operation{name: fmt.Sprintf("operations/%d-%d", time.Now().UnixNano(), s.opSeq.Add(1)), done: make(chan struct{})}
	s.mu.Lock()
	s.ops[op.name] = op
	s.mu.Unlock()
	return op
}
