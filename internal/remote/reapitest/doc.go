// Package reapitest is a small Remote Execution API v2 server for tests. It
// keeps its CAS and action cache in memory and really executes actions in
// temporary directories on this machine, with exact platform matching,
// timeouts, and fault injection (dropped streams, UNAVAILABLE, lost blobs,
// slow workers). It counts what it receives so tests can check uploads.
//
// Start runs it in this process; Spawn runs it in a child process (the test
// binary re-executed, whose TestMain calls Main when EnvServe is set).
package reapitest
