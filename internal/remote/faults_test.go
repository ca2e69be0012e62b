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

// A service that stays busy is retried for the patience, then given up as
// an outage (not a test failure).
func TestRetriesAreBounded(t *testing.T) {
	s := startServer(t, reapitest.Options{Unavailable: 1000, UnavailableMethods: []string{"Execute"}})
	c := dial(t, Config{URL: s.URL(), Patience: 300 * time.Millisecond})
	cwd, _ := project(t, toolScript)
	_, err := c.Run(t.Context(), toolSpec(cwd))
	var oe *OutageError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "Unavailable") {
		t.Fatalf("err = %v, want an OutageError with UNAVAILABLE", err)
	}
	if got := s.Calls("Execute"); got < 2 || got >= 1000 {
		t.Errorf("executes = %d, want a few retries", got)
	}
}

// A platform no worker has (FAILED_PRECONDITION "No workers exist", as
// Buildbarn says once settled) fails at once, naming instance and platform.
func TestPlatformMismatch(t *testing.T) {
	s := startServer(t, reapitest.Options{Platform: map[string]string{"OSFamily": "linux", "pool": "default"}})
	c := dial(t, Config{URL: s.URL(), Instance: "main", Platform: map[string]string{"OSFamily": "linux", "pool": "gpu"}})
	cwd, _ := project(t, toolScript)
	_, err := c.Run(t.Context(), toolSpec(cwd))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a ConfigError", err)
	}
	for _, want := range []string{`instance "main"`, "platform {OSFamily=linux, pool=gpu}", "--remote-platform"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if got := s.Counts().Executes; got != 1 || c.Stats().Retries != 0 {
		t.Errorf("executes %d, retries %d: want one try", got, c.Stats().Retries)
	}
}

// A wrong instance name is reported as such at dial time.
func TestUnknownInstance(t *testing.T) {
	s := startServer(t, reapitest.Options{Instances: []string{"main"}})
	_, err := Dial(t.Context(), Config{URL: s.URL(), Instance: "mian"})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `instance "mian"`) || !strings.Contains(err.Error(), "--remote-instance") {
		t.Fatalf("err = %v, want a ConfigError naming the instance", err)
	}
}

// A server with execution but no CAS (Buildbarn's scheduler port) is named
// as not a frontend, not as a digest problem.
func TestNotAFrontend(t *testing.T) {
	s := startServer(t, reapitest.Options{NoCAS: true})
	_, err := Dial(t.Context(), Config{URL: s.URL()})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "not a Remote Execution API frontend") || !strings.Contains(err.Error(), "bb_storage") {
		t.Fatalf("err = %v, want a ConfigError saying it is not a frontend", err)
	}
}

// A timeout above the server's maximum is clamped to it, said once, and
// remembered for later actions.
func TestTimeoutClampedToServerMaximum(t *testing.T) {
	s := startServer(t, reapitest.Options{MaxExecutionTimeout: 90 * time.Second})
	var mu sync.Mutex
	var said []string
	c := dial(t, Config{URL: s.URL(), Progress: func(m string) { mu.Lock(); said = append(said, m); mu.Unlock() }})
	cwd, _ := project(t, toolScript)
	for range 2 {
		sp := toolSpec(cwd, "alpha", "beta")
		sp.Timeout = 3 * time.Hour
		res := run(t, c, sp)
		checkTool(t, res)
		if res.Timeout != 90*time.Second {
			t.Errorf("timeout sent = %v, want the server's 1m30s", res.Timeout)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(said) != 1 || !strings.Contains(said[0], "maximum action timeout is 1m30s") {
		t.Errorf("progress = %q, want one message naming the maximum", said)
	}
	if got := s.Counts().Executes; got != 3 {
		t.Errorf("executes = %d, want 3 (one refused, two run)", got)
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
