// Package proc starts and supervises the processes volley runs: each child
// in its own process group, killed with volley (parent-death signal), marked
// with an environment cookie so that escaped descendants can be found, and
// reaped when orphaned grandchildren are adopted by volley (child subreaper).
//
// Every process volley starts must go through Start, so that the orphan
// reaper never steals the exit status of a process another goroutine waits
// for.
package proc
