// Package event is volley's one vocabulary: the events a run emits, the
// results they carry and the running statistics. It is pure data with no
// I/O, so every reporter, cache and coverage merger can be tested by
// replaying a recorded stream of events.
package event
