// Command reapiserver runs volley's in-repo test Remote Execution API server
// (internal/remote/reapitest) for the benchmarks in bench/: an in-memory CAS
// and action cache, executing actions in temporary directories on this
// machine.
//
//	go build -o /tmp/reapiserver ./bench/reapiserver
//	/tmp/reapiserver [-workers N] [-delay DUR]
//
// It listens on 127.0.0.1 (a free port), prints its URL (grpc://HOST:PORT)
// as the first line on stdout, and serves until stdin reaches EOF or it gets
// SIGTERM or SIGINT. On exit it prints what it received on stderr.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/volley-test/volley/internal/remote/reapitest"
)

func main() {
	workers := flag.Int("workers", 0, "actions run at once (0: unlimited)")
	delay := flag.Duration("delay", 0, "how long a worker waits before running each action")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	s, err := reapitest.Start(ctx, reapitest.Options{Workers: *workers, Delay: *delay})
	if err != nil {
		fmt.Fprintln(os.Stderr, "reapiserver:", err)
		os.Exit(1)
	}
	fmt.Println(s.URL())

	eof := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-ctx.Done():
	case <-eof:
	}
	s.Close()
	c := s.Counts()
	fmt.Fprintf(os.Stderr, "reapiserver: %d executes, %d blobs (%d bytes) received, %d cache hits\n",
		c.Executes, c.BlobsReceived, c.BytesReceived, c.CacheHits)
}
