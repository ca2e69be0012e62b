package goparallel

// Two tests that call t.Parallel and six that do not, for volley's
// accounting of parallel Go tests (internal/cli/parallel_test.go). Each
// test notes its start and end, pid and -test.parallel in $PAR_LOG.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// note appends "WHAT TEST PID PARALLEL" to $PAR_LOG: PARALLEL is the
// process's -test.parallel.
func note(t *testing.T, what string) {
	f, err := os.OpenFile(os.Getenv("PAR_LOG"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %d %s\n", what, t.Name(), os.Getpid(), flag.Lookup("test.parallel").Value)
}

func serial(t *testing.T) {
	note(t, "start")
	time.Sleep(100 * time.Millisecond)
	note(t, "end")
}

func TestSerial1(t *testing.T) { serial(t) }
func TestSerial2(t *testing.T) { serial(t) }
func TestSerial3(t *testing.T) { serial(t) }
func TestSerial4(t *testing.T) { serial(t) }
func TestSerial5(t *testing.T) { serial(t) }
func TestSerial6(t *testing.T) { serial(t) }

// parallel waits (a while, at most) for the other parallel test to be
// running too, as it is under go test.
func parallel(t *testing.T, other string) {
	t.Parallel()
	note(t, "start")
	dir := os.Getenv("PAR_DIR")
	os.WriteFile(filepath.Join(dir, t.Name()), nil, 0o644)
	for i := 0; i < 400; i++ {
		if _, err := os.Stat(filepath.Join(dir, other)); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Longer than a serial test, so their batch is planned first.
	time.Sleep(300 * time.Millisecond)
	note(t, "end")
}

func TestParA(t *testing.T) { parallel(t, "TestParB") }
func TestParB(t *testing.T) { parallel(t, "TestParA") }
