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
	// these properties, else Execute fails UNAVAILABLE "No workers exist".
	Platform map[string]string
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
	opts Options
	lis  net.Listener
	grpc *grpc.Server
	ctx  context.Context // ends when the server stops: cancels running actions
	stop context.CancelFunc

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
	}
	if opts.Workers > 0 {
		s.workers = make(chan struct{}, opts.Workers)
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	sopts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(s.unary),
		grpc.ChainStreamInterceptor(s.stream),
		grpc.MaxRecvMsgSize(64 << 20),
	}
	if opts.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(opts.CertFile, opts.KeyFile)
		if err != nil {
			lis.Close()
			return nil, err
		}
		sopts = append(sopts, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	}
	s.grpc = grpc.NewServer(sopts...)
	repb.RegisterCapabilitiesServer(s.grpc, capabilities{s})
	repb.RegisterContentAddressableStorageServer(s.grpc, cas{s: s})
	repb.RegisterActionCacheServer(s.grpc, actionCache{s: s})
	repb.RegisterExecutionServer(s.grpc, execution{s: s})
	bytestream.RegisterByteStreamServer(s.grpc, &byteStream{s: s})
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

// Addr is host:port.
func (s *Server) Addr() string { return s.lis.Addr().String() }

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
	s.grpc.Stop()
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
	return h(ctx, req)
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
