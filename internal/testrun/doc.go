// Package testrun is one run of `volley test`, fed a plain Config: it
// discovers the suites and plans the run (history, result cache, --failed,
// partitions), starts coverage, opens the reports, dials the remote
// service, supervises every process it starts under the run's mark, hands
// the plan to the dispatcher, handles signals and the terminal's keys, and
// records what ran. It holds the run's policies too: the harnesses'
// default timeouts, the memory budget, which harness gets which extra
// flag.
//
// It parses no flags and chooses no exit codes (its messages still name the
// flag a user would change): the command line (package cli) builds the
// Config from flags and volley.toml, and maps the Outcome and the errors
// (see Error) to exit codes.
package testrun
