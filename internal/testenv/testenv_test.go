package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestScale runs this test binary again with the factor set, since the
// factor is read once per process.
func TestScale(t *testing.T) {
	if v := os.Getenv("TESTENV_CHILD"); v != "" {
		want, _ := time.ParseDuration(v)
		if got := Scale(time.Second); got != want {
			t.Fatalf("Scale(1s) = %v with %s=%q, race %v; want %v", got, ScaleVar, os.Getenv(ScaleVar), Race(), want)
		}
		return
	}
	race := time.Duration(1)
	if Race() {
		race = RaceFactor
	}
	for _, c := range []struct {
		scale string
		want  time.Duration
	}{
		{"", race * time.Second},
		{"2.5", race * 2500 * time.Millisecond},
		{"nonsense", race * time.Second},
		{"-1", race * time.Second},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestScale$")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD="+c.want.String(), ScaleVar+"="+c.scale)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s=%q: %v\n%s", ScaleVar, c.scale, err, out)
		}
		if bad := c.scale == "nonsense" || c.scale == "-1"; bad != strings.Contains(string(out), "not a positive number") {
			t.Errorf("%s=%q: warning said: %v\n%s", ScaleVar, c.scale, !bad, out)
		}
	}
}
