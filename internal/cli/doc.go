// Package cli is volley's command line: one file per subcommand, each with
// an options struct filled by its flags, volley.toml's [run] table and the
// chosen profile laid under them (options.go), help text and exit codes.
// The run itself is package testrun: `volley test`, `volley demo` and
// `volley list` build a testrun.Config from their options and map what it
// returns to an exit code. Only main calls os.Exit; commands return errors
// that carry the exit code (see ExitCode).
package cli
