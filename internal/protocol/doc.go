// Package protocol knows how each kind of test executable is run and how its
// output is read: one file per harness. A protocol turns a Suite into Units
// (one process each) and gives every Unit a Session, a streaming parser that
// turns output lines into test outcomes as they arrive and, when the process
// ends, says what is still owed and which follow-up processes must run.
package protocol
