// Package runner runs units of work as parallel processes. It has two
// halves: the executor (one goroutine per process: start it, drain its
// output, parse it, wait for it) and the dispatcher (one goroutine that owns
// all run state, decides what starts next, enforces timeouts, handles
// interrupts and is the only emitter of events). Nothing here prints.
package runner
