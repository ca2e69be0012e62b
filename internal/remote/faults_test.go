package remote

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/remote/reapitest"
)

// Every injected fault is survived, and the Result is as without it.
func TestFaultsSurvived(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    reapitest.Options
		retries bool
		check   func(t *testing.T, s *reapitest.Server)
	}{
		{name: "execute stream dropped", opts: reapitest.Options{DropExecuteStreams: 1, Delay: 100 * time.Millisecond}, retries: true,
			check: func(t *testing.T, s *reapitest.Server) {
				if c := s.Counts(); c.WaitExecutions != 1 || c.Executes != 1 {
					t.Errorf("executes %d, wait executions %d; want 1 and 1", c.Executes, c.WaitExecutions)
				}
			}},
		{name: "execute unavailable", opts: reapitest.Options{Unavailable: 3, UnavailableMethods: []string{"Execute"}}, retries: true},
		{name: "cas unavailable", opts: reapitest.Options{Unavailable: 2, UnavailableMethods: []string{"FindMissingBlobs", "BatchUpdateBlobs", "Write", "BatchReadBlobs"}}, retries: true},
		{name: "every call unavailable once", opts: reapitest.Options{Unavailable: 1}, retries: true},
		{name: "blob lost", opts: reapitest.Options{LoseBlobs: 1}, retries: true,
			check: func(t *testing.T, s *reapitest.Server) {
				if c := s.Counts(); c.Executes != 2 {
					t.Errorf("executes = %d, want 2", c.Executes)
				}
			}},
		{name: "slow worker", opts: reapitest.Options{Delay: 300 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.opts)
			c := dial(t, Config{URL: s.URL()})
			cwd, _ := project(t, bigScript(toolScript, 2<<20))
			checkTool(t, run(t, c, toolSpec(cwd, "alpha", "beta")))
			if got := c.Stats().Retries; (got > 0) != tc.retries || got > 5 {
				t.Errorf("retries = %d", got)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// Slow workers, one at a time, queue concurrent Runs; all finish.
func TestSlowQueuedWorkers(t *testing.T) {
	s := startServer(t, reapitest.Options{Workers: 1, Delay: 100 * time.Millisecond})
	c := dial(t, Config{URL: s.URL(), Jobs: 3})
	cwd, _ := project(t, toolScript)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			res, err := c.Run(t.Context(), toolSpec(cwd, "alpha", "beta"))
			if err != nil {
				t.Error(err)
				return
			}
			checkTool(t, res)
		})
	}
	wg.Wait()
}

func TestRetriesAreBounded(t *testing.T) {
	s := startServer(t, reapitest.Options{Unavailable: 100, UnavailableMethods: []string{"Execute"}})
	c := dial(t, Config{URL: s.URL()})
	cwd, _ := project(t, toolScript)
	_, err := c.Run(t.Context(), toolSpec(cwd))
	if err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("err = %v, want UNAVAILABLE after bounded retries", err)
	}
	if got := s.Calls("Execute"); got != defaultRetry.tries {
		t.Errorf("executes = %d, want %d", got, defaultRetry.tries)
	}
}

// A platform no worker has fails at once, naming the properties sent.
func TestPlatformMismatch(t *testing.T) {
	s := startServer(t, reapitest.Options{Platform: map[string]string{"OSFamily": "linux", "pool": "default"}})
	c := dial(t, Config{URL: s.URL(), Platform: map[string]string{"OSFamily": "linux", "pool": "gpu"}})
	cwd, _ := project(t, toolScript)
	start := time.Now()
	_, err := c.Run(t.Context(), toolSpec(cwd))
	var pe *PlatformError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a PlatformError", err)
	}
	if !strings.Contains(err.Error(), "{OSFamily=linux, pool=gpu}") {
		t.Errorf("error does not name the platform sent: %v", err)
	}
	if got := s.Counts().Executes; got != 1 || c.Stats().Retries != 0 || time.Since(start) > 5*time.Second {
		t.Errorf("executes %d, retries %d, took %v: want one try", got, c.Stats().Retries, time.Since(start))
	}
}

func TestServerRejectsBareArg0(t *testing.T) {
	s := startServer(t, reapitest.Options{})
	c := dial(t, Config{URL: s.URL()})
	cwd, _ := project(t, toolScript)
	p, err := c.prepare(toolSpec(cwd))
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild the action with a bare argv[0], as a broken client would send.
	p = rewriteArg0(t, c, p, "tool.sh")
	if err := c.upload(t.Context(), p.blobs); err != nil {
		t.Fatal(err)
	}
	_, err = c.execute(t.Context(), p)
	if err == nil || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Fatalf("err = %v, want INVALID_ARGUMENT", err)
	}
}
