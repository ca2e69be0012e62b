// Package cache is volley's memory of past runs: a result cache keyed by
// everything a suite's outcome depends on (executable content, protocol,
// arguments, interpreter, working directory, the environment given to the
// child, declared inputs), and a per-test history of durations, resource use
// and outcomes, used to order runs, to rerun only failures (--failed) and to
// spot flaky tests.
//
// Everything lives in one JSON file, history.json, in a state directory
// (.volley/ by default). Readers never lock: the file is only ever replaced
// whole, by rename. A writer takes an exclusive flock on dir/lock, re-reads
// the file, replays its own records onto what another volley may have
// written meanwhile, prunes, and writes a temporary file that is fsynced and
// renamed over the old one. A corrupt or foreign file is reported as a
// warning and rebuilt, never fatal.
//
// The package decides nothing about a run: the caller asks Lookup whether a
// suite (or, through SuiteEntry.Result, one test) may be served from the
// cache, records what ran with Record, and saves once at the end.
package cache
