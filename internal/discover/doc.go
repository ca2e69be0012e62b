// Package discover turns what the user named (paths, globs, name patterns
// and volley.toml suites) into the suites to run.
package discover
