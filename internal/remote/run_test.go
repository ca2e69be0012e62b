package remote

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/remote/reapitest"
	"github.com/volley-test/volley/internal/testenv"
)

// The server runs in its own process, reached over loopback.
func TestRunOnServerProcess(t *testing.T) {
	p, err := reapitest.Spawn(t.Context(), os.Args[0], reapitest.Options{Platform: map[string]string{"OSFamily": "linux"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	c := dial(t, Config{URL: p.URL, Platform: map[string]string{"OSFamily": "linux"}})
	cwd, _ := project(t, toolScript)
	res := run(t, c, toolSpec(cwd, "alpha", "beta"))
	checkTool(t, res)
	if res.Worker == "" {
		t.Error("no worker reported")
	}
}

func TestRunVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts reapitest.Options
	}{
		{"plain", reapitest.Options{}},
		{"inline outputs", reapitest.Options{Inline: true}},
		{"api 2.0 output_files", reapitest.Options{HighAPIVersion: "2.0"}},
		{"tiny batches", reapitest.Options{MaxBatchTotalSizeBytes: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.opts)
			c := dial(t, Config{URL: s.URL(), Instance: "main"})
			cwd, _ := project(t, toolScript)
			checkTool(t, run(t, c, toolSpec(cwd, "alpha", "beta")))
		})
	}
}

// One binary shared by 10 Specs is uploaded once; running them again
// uploads nothing, from this client or a new one.
func TestBinaryUploadedOnce(t *testing.T) {
	s := startServer(t, reapitest.Options{Workers: 4})
	c := dial(t, Config{URL: s.URL(), Jobs: 10})
	cwd, tool := project(t, bigScript(toolScript, 3<<20))
	specs := make([]Spec, 10)
	for i := range specs {
		specs[i] = toolSpec(cwd, fmt.Sprintf("test%d", i))
	}
	runAll := func(c *Client) {
		var wg sync.WaitGroup
		for _, sp := range specs {
			wg.Go(func() {
				res, err := c.Run(t.Context(), sp)
				if err != nil {
					t.Error(err)
					return
				}
				if want := "covered " + sp.Argv[1] + "\n"; string(res.Outputs["cov/out.txt"]) != want {
					t.Errorf("%v: output %q, want %q", sp.Argv, res.Outputs["cov/out.txt"], want)
				}
			})
		}
		wg.Wait()
	}
	runAll(c)
	if n := s.Received(sha256File(t, tool)); n != 1 {
		t.Errorf("binary received %d times, want 1", n)
	}
	first := s.Counts()
	if first.BytesReceived < 3<<20 || first.BytesReceived > 4<<20 {
		t.Errorf("server received %d bytes, want about 3 MiB", first.BytesReceived)
	}
	if st := c.Stats(); st.BytesUploaded != first.BytesReceived {
		t.Errorf("client counted %d bytes uploaded, server %d", st.BytesUploaded, first.BytesReceived)
	}

	runAll(c)
	runAll(dial(t, Config{URL: s.URL()}))
	if again := s.Counts(); again.BytesReceived != first.BytesReceived || again.BlobsReceived != first.BlobsReceived {
		t.Errorf("second runs uploaded %d bytes in %d blobs, want 0",
			again.BytesReceived-first.BytesReceived, again.BlobsReceived-first.BlobsReceived)
	}
	if got := s.Counts().Executes; got != 30 {
		t.Errorf("executes = %d, want 30 (no result caching)", got)
	}
}

func TestCacheResults(t *testing.T) {
	s := startServer(t, reapitest.Options{})
	c := dial(t, Config{URL: s.URL(), CacheResults: true})
	cwd, _ := project(t, "#!/bin/sh\necho ok; echo cov > out.txt\n")
	sp := Spec{Argv: []string{"../bin/tool.sh"}, Cwd: cwd, OutputFiles: []string{"out.txt"}}
	first := run(t, c, sp)
	if first.Cached || string(first.Stdout) != "ok\n" {
		t.Fatalf("first run: cached %v stdout %q", first.Cached, first.Stdout)
	}
	second := run(t, c, sp)
	if !second.Cached || string(second.Stdout) != "ok\n" || string(second.Outputs["out.txt"]) != "cov\n" {
		t.Fatalf("second run: cached %v stdout %q outputs %q", second.Cached, second.Stdout, second.Outputs)
	}
	if got := s.Counts().Executes; got != 1 {
		t.Errorf("executes = %d, want 1", got)
	}
	if c.Stats().CacheHits != 1 {
		t.Errorf("stats = %+v, want 1 cache hit", c.Stats())
	}
}

func TestTimeoutKeepsPartialOutput(t *testing.T) {
	s := startServer(t, reapitest.Options{})
	c := dial(t, Config{URL: s.URL()})
	cwd, _ := project(t, "#!/bin/sh\necho started\necho partial > out.txt\nsleep 30\necho never\n")
	sp := Spec{Argv: []string{"../bin/tool.sh"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: cwd, OutputFiles: []string{"out.txt"}, Timeout: 300 * 1e6}
	res := run(t, c, sp)
	if !res.TimedOut {
		t.Fatalf("not timed out: %+v", res)
	}
	if string(res.Stdout) != "started\n" || string(res.Outputs["out.txt"]) != "partial\n" {
		t.Errorf("stdout %q outputs %q, want partial results", res.Stdout, res.Outputs)
	}
}

// segvScript burns a little CPU, then dies of SIGSEGV.
const segvScript = "#!/bin/sh\ni=0\nwhile [ $i -lt 20000 ]; do i=$((i+1)); done\nkill -SEGV $$\n"

// Buildbarn reports a signal death as exit code -1 with the signal, CPU and
// peak RSS in auxiliary_metadata; the server runs in its own process.
func TestSignalDeathWithResourceUsage(t *testing.T) {
	p, err := reapitest.Spawn(t.Context(), os.Args[0], reapitest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	c := dial(t, Config{URL: p.URL})
	cwd, _ := project(t, segvScript)
	res := run(t, c, Spec{Argv: []string{"../bin/tool.sh"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: cwd})
	if res.ExitCode != -1 || res.Signal != "SIGSEGV" {
		t.Errorf("exit %d signal %q, want -1 SIGSEGV", res.ExitCode, res.Signal)
	}
	if res.CPU <= 0 || res.MaxRSS <= 0 {
		t.Errorf("CPU %v, max RSS %d: want what the worker measured", res.CPU, res.MaxRSS)
	}
}

// Servers that report 128+N and no resource usage still give the signal.
func TestSignalFromExitCode(t *testing.T) {
	s := startServer(t, reapitest.Options{ExitCode128: true})
	c := dial(t, Config{URL: s.URL()})
	cwd, _ := project(t, segvScript)
	res := run(t, c, Spec{Argv: []string{"../bin/tool.sh"}, Env: []string{"PATH=/usr/bin:/bin"}, Cwd: cwd})
	if res.ExitCode != 139 || res.Signal != "SIGSEGV" || res.CPU != 0 {
		t.Errorf("exit %d signal %q CPU %v, want 139 SIGSEGV and no usage", res.ExitCode, res.Signal, res.CPU)
	}
}

// Right after a scheduler restart Buildbarn says UNAVAILABLE "No workers
// exist" for a while: volley waits, says so, and runs.
func TestNoWorkersWindowSurvived(t *testing.T) {
	p, err := reapitest.Spawn(t.Context(), os.Args[0], reapitest.Options{NoWorkers: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	var mu sync.Mutex
	var said []string
	c := dial(t, Config{URL: p.URL, Instance: "main", Patience: testenv.Scale(time.Minute)})
	cwd, _ := project(t, toolScript)
	ctx := WithProgress(t.Context(), func(m string) { mu.Lock(); said = append(said, m); mu.Unlock() })
	res, err := c.Run(ctx, toolSpec(cwd, "alpha", "beta"))
	if err != nil {
		t.Fatal(err)
	}
	checkTool(t, res)
	mu.Lock()
	defer mu.Unlock()
	if len(said) == 0 || !strings.Contains(said[0], `waiting for workers: instance "main"`) {
		t.Errorf("progress = %q, want a waiting-for-workers message", said)
	}
}

// The frontend going down mid-run for a moment is waited out; down for
// longer than the patience, it is an OutageError.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		down     time.Duration
		patience time.Duration
		survive  bool
	}{
		{"brief", 500 * time.Millisecond, testenv.Scale(time.Minute), true},
		{"for good", 0, 500 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := reapitest.Spawn(t.Context(), os.Args[0], reapitest.Options{OutageAfter: 1, OutageFor: tc.down})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Stop() })
			var mu sync.Mutex
			var said []string
			c := dial(t, Config{URL: p.URL, Patience: tc.patience, Progress: func(m string) { mu.Lock(); said = append(said, m); mu.Unlock() }})
			cwd, _ := project(t, toolScript)
			res, err := c.Run(t.Context(), toolSpec(cwd, "alpha", "beta"))
			var oe *OutageError
			switch {
			case tc.survive && err != nil:
				t.Fatalf("err = %v, want the outage waited out", err)
			case tc.survive:
				checkTool(t, res)
			case !errors.As(err, &oe):
				t.Fatalf("err = %v, want an OutageError", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(said) == 0 || !strings.Contains(said[0], "unreachable") {
				t.Errorf("progress = %q, want an unreachable message", said)
			}
		})
	}
}
