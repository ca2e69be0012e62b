package cli_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/cli"
)

// run runs volley's command tree in this process and returns its exit
// code, standard output and error messages.
func runRoot(args ...string) (int, string, string) {
	root := cli.NewRoot()
	var out, errs bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errs)
	root.SetArgs(args)
	code := cli.ExitCode(root.Execute(), &errs)
	return code, out.String(), errs.String()
}

func TestVersionFlag(t *testing.T) {
	code, out, _ := runRoot("--version")
	_, cmdOut, _ := runRoot("version")
	if code != 0 || !strings.HasPrefix(out, "volley ") || out != cmdOut {
		t.Errorf("volley --version: exit %d, %q; volley version: %q", code, out, cmdOut)
	}
}

func TestMistypedFlagSuggestsTheClosest(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"test", "--verbos"}, "did you mean --verbose?"},
		{[]string{"test", "--no-cach"}, "did you mean --no-cache?"},
		{[]string{"test", "--jbos", "2"}, "did you mean --jobs?"},
		{[]string{"test", "--fail-fats"}, "did you mean --fail-fast?"},
		{[]string{"list", "--filtr", "x"}, "did you mean --filter?"},
		{[]string{"test", "--timeout-for-everything", "1s"}, ""},
	} {
		code, _, errs := runRoot(c.args...)
		if code != cli.ExitUsage {
			t.Errorf("%q: exit %d, want %d", c.args, code, cli.ExitUsage)
		}
		if c.want == "" {
			if strings.Contains(errs, "did you mean") {
				t.Errorf("%q: a suggestion for a flag like no other: %s", c.args, errs)
			}
		} else if !strings.Contains(errs, c.want) {
			t.Errorf("%q: %q, want it to say %q", c.args, errs, c.want)
		}
		if !strings.Contains(errs, "--help") {
			t.Errorf("%q: %q does not point to --help", c.args, errs)
		}
	}
}
