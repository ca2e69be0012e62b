package cache

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

const (
	writerEnv = "VOLLEY_CACHE_TEST_WRITER" // "dir,suite": be a writer process
	writes    = 50
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(writerEnv); spec != "" {
		dir, suite, _ := strings.Cut(spec, ",")
		if err := writeMany(dir, suite); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// writeMany is one volley run after another, each recording suite: open,
// record, save. Any warning means it read a torn or corrupt file.
func writeMany(dir, suite string) error {
	for i := range writes {
		s, warn, err := Open(dir)
		if err != nil {
			return err
		}
		if len(warn) > 0 {
			return fmt.Errorf("%s write %d: %q", suite, i, warn)
		}
		s.KeepRuns = 1000
		k := Key{Sum: suite, Parts: map[string]string{partExe: suite}}
		s.Record(suite, k, []*event.Result{
			{Suite: suite, Test: "t", Status: event.Pass, Duration: time.Duration(i+1) * time.Millisecond},
			{Suite: suite, Test: fmt.Sprint("u", i), Status: event.Pass},
		})
		if err := s.Save(); err != nil {
			return fmt.Errorf("%s write %d: %w", suite, i, err)
		}
	}
	return nil
}

// checkBoth says whether the file holds every write of both writers.
func checkBoth(t *testing.T, dir string, suites ...string) {
	t.Helper()
	s := open(t, dir)
	if got, want := s.Stats().Runs, int64(writes*len(suites)); got != want {
		t.Errorf("runs = %d, want %d", got, want)
	}
	for _, suite := range suites {
		h, ok := s.Test(suite, "t")
		if !ok || h.Runs != writes {
			t.Errorf("%s::t = %+v, want %d runs", suite, h, writes)
		}
		k := Key{Sum: suite}
		e, hit := s.Lookup(suite, k)
		if !hit || len(e.Tests) != writes+1 {
			t.Errorf("%s: hit=%v, entry %+v, want %d tests", suite, hit, e, writes+1)
		}
	}
}

func TestConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, suite := range []string{"alpha", "beta"} {
		wg.Go(func() { errs <- writeMany(dir, suite) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkBoth(t, dir, "alpha", "beta")
}

func TestConcurrentProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for _, suite := range []string{"alpha", "beta"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+dir+","+suite)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s writer: %s", suite, out.String())
			}
		})
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Error(err)
		}
	}
	checkBoth(t, dir, "alpha", "beta")
}
