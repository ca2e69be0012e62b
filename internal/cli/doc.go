// Package cli is volley's command line: one file per subcommand, each with
// an options struct filled by its flags. Only main calls os.Exit; commands
// return errors that carry the exit code (see ExitCode).
package cli
