// Package remote runs one test process on a Bazel Remote Execution API (REAPI
// v2) server: it uploads the executable and its declared inputs as a Merkle
// tree of Directory protos, executes the Command, and fetches back the exit
// code, stdout, stderr and declared output files (coverage).
//
// It is a thin client written against the generated REAPI protos; it knows
// only what a test launcher needs. Package reapitest holds an in-repo server
// that really executes actions, for tests.
//
// Executor is the runner's seam onto it: it runs each of the dispatcher's
// processes as one action and replays the action's output through the
// unit's protocol session, as a local run would.
package remote
