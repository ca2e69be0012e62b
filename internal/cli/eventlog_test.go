package cli_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/testenv"
)

// The event log batches a test's lines, but not until the end: a test that
// passed is in the log while another still runs (a plain run ticks every
// second, and a tick writes what waits).
func TestEventLogWrittenDuringTheRun(t *testing.T) {
	t.Parallel()
	vbin, _ := faultBins(t)
	dir := t.TempDir()
	release := filepath.Join(dir, "release")
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("quick.sh", "#!/bin/sh\nexit 0\n")
	write("waits.sh", "#!/bin/sh\nwhile [ ! -e "+release+" ]; do sleep 0.05; done\n")
	write("volley.toml", "[[suite]]\nname = \"quick\"\npaths = [\"quick.sh\"]\n\n[[suite]]\nname = \"waits\"\npaths = [\"waits.sh\"]\ntimeout = \"10m\"\n")
	logPath := filepath.Join(dir, "events.json")
	cmd := exec.Command(vbin, "test", "-j2", "--no-cache", "--state-dir", filepath.Join(dir, "state"), "--json", logPath)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = os.WriteFile(release, nil, 0o644)
		_ = cmd.Wait()
	}()
	testenv.WaitFor(t, 30*time.Second, "quick's pass in the event log while waits.sh runs", func() bool {
		b, _ := os.ReadFile(logPath)
		return bytes.Contains(b, []byte(`"Action":"pass","Package":"quick`))
	})
	if b, _ := os.ReadFile(logPath); bytes.Contains(b, []byte(`"Action":"pass","Package":"waits`)) {
		t.Fatalf("waits.sh ended before it was released:\n%s", b)
	}
	if err := os.WriteFile(release, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("volley: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "volley: 2 passed, 0 failed") {
		t.Errorf("want both to pass:\n%s", out.String())
	}
}
