// Package report turns a run's events into what people and tools read. A
// Reporter is fed events only, one at a time, by the dispatcher; it never
// sees run state directly, so every reporter is tested by replaying a
// recorded event stream and comparing its output with a golden file.
//
// This file set holds the Reporter interface, its adapters and the terminal
// reporter: a live area on a terminal, plain lines in a log.
package report
