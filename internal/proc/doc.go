// Package proc starts and supervises the processes volley runs: each child
// in its own process group, killed with volley (parent-death signal), marked
// with an environment cookie so that escaped descendants can be found, and
// reaped when orphaned grandchildren are adopted by volley (child subreaper).
//
// Every process volley starts must go through Start, so that the orphan
// reaper never steals the exit status of a process another goroutine waits
// for.
//
// Tests run under supervisors (Launch): helper processes, the volley
// executable again, each serving one test at a time and kept for the next
// once the test and everything it left are dead, so a run starts about as
// many supervisors as it runs tests at once. CloseIdle ends the idle ones
// when a run is over; all of them end with volley.
package proc
