package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/volley-test/volley/internal/config"
)

// Exit codes, the output contract.
const (
	ExitOK          = 0
	ExitTestsFailed = 1
	ExitUsage       = 2
	// ExitIncomplete: the run could not complete for a reason outside the
	// tests (remote service unreachable, a report or state file unwritable).
	// A test failure together with such a problem also exits 3.
	ExitIncomplete  = 3
	ExitInterrupted = 130
)

// exitError carries an exit code and, optionally, a message for stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usage wraps err as a usage or configuration error (exit 2).
func usage(err error) error { return &exitError{code: ExitUsage, err: err} }

// incomplete wraps err as a problem outside the tests that kept the run
// from completing (exit 3).
func incomplete(err error) error { return &exitError{code: ExitIncomplete, err: err} }

// silent is an exit code with nothing more to say (the summary said it).
func silent(code int) error { return &exitError{code: code} }

// ExitCode maps an error returned by a command to the process exit code and
// writes its message, if any, to w.
func ExitCode(err error, w io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(w, "volley: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(w, "volley: %v\n", err)
	return ExitUsage
}

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// NewRoot builds the volley command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "volley",
		Short: "Run test executables as parallel subprocesses",
		Long: `volley runs test suites (executables) as many subprocesses at once, never
blocking on one: it collects each as it finishes, shows live which tests run,
kills what hangs and keeps every result.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = version()
	root.SetVersionTemplate("volley {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if s := suggestFlag(c, err); s != "" {
			return usage(fmt.Errorf("%w; did you mean %s? (see %s --help)", err, s, c.CommandPath()))
		}
		return usage(fmt.Errorf("%w (see %s --help)", err, c.CommandPath()))
	})
	root.AddCommand(newTestCmd(), newListCmd(), newDemoCmd(), newVersionCmd(), newCacheCmd(), newQuarantineCmd(), newMergeCmd(), newHistoryCmd(), newArchiveCmd())
	return root
}

// Main runs volley with args and returns the exit code.
func Main(args []string) int {
	root := NewRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err != nil && !isExitError(err) {
		err = usage(err)
	}
	return ExitCode(err, os.Stderr)
}

func isExitError(err error) bool {
	var ee *exitError
	return errors.As(err, &ee)
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print volley's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "volley %s\n", version())
			return nil
		},
	}
}

// version is Version, or, for a build that did not set it, what the Go
// toolchain recorded: the module version (go install ...@v1.2.3), else
// "dev-" and the source revision, "-dirty" when the tree had changes. It
// is one word, for scripts.
func version() string {
	if Version != "dev" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return Version
	}
	return Version + "-" + rev[:min(len(rev), 12)] + dirty
}

// suggestFlag names the flag of c closest to the unknown one err is about
// ("--verbos": "--verbose"), or "" when none is close.
func suggestFlag(c *cobra.Command, err error) string {
	msg := err.Error()
	var typed string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		typed = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: "):
		// "unknown shorthand flag: 'V' in -V": a long name typed with one dash
		if i := strings.LastIndex(msg, " in -"); i >= 0 {
			typed = strings.TrimPrefix(msg[i+len(" in -"):], "-")
		}
	default:
		return ""
	}
	if i := strings.IndexByte(typed, '='); i >= 0 {
		typed = typed[:i]
	}
	if len(typed) < 2 {
		return ""
	}
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	}
	c.Flags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	if best := config.Nearest(typed, names); best != "" {
		return "--" + best
	}
	return ""
}
