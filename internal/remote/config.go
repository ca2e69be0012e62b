package remote

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// Config says which REAPI server to use and how.
type Config struct {
	URL      string            // grpc://host:port or grpcs://host:port
	Instance string            // REAPI instance name; may be empty
	Platform map[string]string // platform properties (--remote-platform k=v)
	Jobs     int               // most Runs in flight at once; 0 = no limit
	// HeadersEnv names an environment variable holding "Key: Value" lines sent
	// as gRPC metadata (auth). HeadersFile is a file of such lines. Header
	// values are never taken from argv and never printed.
	HeadersEnv   string
	HeadersFile  string
	CACert       string // PEM file of the CA for grpcs; empty = system roots
	CacheResults bool   // look results up in the action cache and let the server cache them
	// Patience bounds how long a service that is unreachable, busy or
	// without workers is waited out (0 = DefaultPatience).
	Patience time.Duration
	// Progress, when set, is told what volley is waiting for ("waiting for
	// workers ...") while it waits; WithProgress overrides it per Run.
	Progress func(string)
}

// dialTarget parses URL into a gRPC target and transport credentials.
func (c Config) dialTarget() (string, credentials.TransportCredentials, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("remote URL %q: want grpc://host:port or grpcs://host:port", c.URL)
	}
	switch u.Scheme {
	case "grpc":
		return u.Host, insecure.NewCredentials(), nil
	case "grpcs":
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CACert != "" {
			pem, err := os.ReadFile(c.CACert)
			if err != nil {
				return "", nil, fmt.Errorf("remote CA: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return "", nil, fmt.Errorf("remote CA %s: no PEM certificate", c.CACert)
			}
			cfg.RootCAs = pool
		}
		return u.Host, credentials.NewTLS(cfg), nil
	}
	return "", nil, fmt.Errorf("remote URL %q: scheme must be grpc or grpcs", c.URL)
}

// headers reads the auth headers from HeadersEnv and HeadersFile. Errors
// name the source and line, never a value.
func (c Config) headers() (metadata.MD, error) {
	md := metadata.MD{}
	if c.HeadersEnv != "" {
		v, ok := os.LookupEnv(c.HeadersEnv)
		if !ok {
			return nil, fmt.Errorf("remote headers: environment variable %s is not set", c.HeadersEnv)
		}
		if err := parseHeaders(md, v); err != nil {
			return nil, fmt.Errorf("remote headers from $%s: %w", c.HeadersEnv, err)
		}
	}
	if c.HeadersFile != "" {
		b, err := os.ReadFile(c.HeadersFile)
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("remote headers file %s: %w", c.HeadersFile, err)
		}
		if err := parseHeaders(md, string(b)); err != nil {
			return nil, fmt.Errorf("remote headers file %s: %w", c.HeadersFile, err)
		}
	}
	return md, nil
}

// parseHeaders adds "Key: Value" lines to md; blank lines and lines starting
// with # are skipped.
func parseHeaders(md metadata.MD, text string) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return fmt.Errorf("line %d: want \"Key: Value\"", n)
		}
		md.Append(k, strings.TrimSpace(v))
	}
	return sc.Err()
}

// headerInterceptors attach md to every outgoing call.
func headerInterceptors(md metadata.MD) []grpc.DialOption {
	if len(md) == 0 {
		return nil
	}
	with := func(ctx context.Context) context.Context {
		return metadata.NewOutgoingContext(ctx, metadata.Join(md, outgoing(ctx)))
	}
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return invoker(with(ctx), method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return streamer(with(ctx), desc, cc, method, opts...)
		}),
	}
}

func outgoing(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}
