// Package runner runs units of work as parallel processes. It has two
// halves joined by one seam. An Executor runs one process on a goroutine of
// its own: it starts it, drains and parses its output, carries out the
// dispatcher's requests and reports typed events (Started, Reported,
// Warning, Diagnosis, Exited). Local runs processes on this machine;
// remote.Executor runs them on a remote execution service. The Dispatcher
// is one goroutine that owns all run state: it decides what starts next
// (slots, threads, concurrency groups, the memory budget), enforces
// timeouts, retries, handles interrupts and suspension, and is the only
// emitter of events. Nothing here prints.
package runner
