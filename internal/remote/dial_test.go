package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/remote/reapitest"
)

func TestDialRejects(t *testing.T) {
	sha1 := startServer(t, reapitest.Options{DigestFunction: "SHA1"})
	for _, tc := range []struct{ name, url, want string }{
		{"no scheme", "127.0.0.1:80", "want grpc://host:port"},
		{"http", "http://127.0.0.1:80", "scheme must be grpc or grpcs"},
		{"no host", "grpc://", "want grpc://host:port"},
		{"sha1 only", sha1.URL(), "SHA256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(t.Context(), Config{URL: tc.url})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDialUnreachableIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var said []string
	_, err = Dial(t.Context(), Config{URL: "grpc://" + addr, Patience: 300 * time.Millisecond, Progress: func(m string) { said = append(said, m) }})
	var oe *OutageError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "Unavailable") {
		t.Errorf("err = %v, want an OutageError with UNAVAILABLE", err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "connection refused") {
		t.Errorf("progress = %q, want one unreachable message", said)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	s := startServer(t, reapitest.Options{CertFile: cert, KeyFile: key})
	if !strings.HasPrefix(s.URL(), "grpcs://") {
		t.Fatalf("url = %s", s.URL())
	}
	c := dial(t, Config{URL: s.URL(), CACert: cert})
	cwd, _ := project(t, toolScript)
	checkTool(t, run(t, c, toolSpec(cwd, "alpha", "beta")))

	// System roots do not trust the test CA.
	if _, err := Dial(t.Context(), Config{URL: s.URL()}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v, want a certificate error", err)
	}
}

func TestRunHonoursContext(t *testing.T) {
	s := startServer(t, reapitest.Options{Delay: 10 * time.Second})
	c := dial(t, Config{URL: s.URL()})
	cwd, _ := project(t, toolScript)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Run(ctx, toolSpec(cwd))
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v, want a prompt error", err, time.Since(start))
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Errorf("err = %v, want the context's deadline", err)
	}
}

// selfSigned writes a CA-signed-by-itself certificate for 127.0.0.1.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "reapitest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
