// Package config loads and validates volley.toml, the project file that names
// the test suites, the run options a project wants by default, named profiles
// of options, concurrency groups and coverage settings.
//
// Load parses a file and checks it whole; every problem it reports is an
// *Error naming the file, the line and the key, so a user can jump straight
// to the mistake:
//
//	volley.toml:12: suite[2].timeout: invalid duration "abc" (use e.g. "20s")
//
// Array-of-tables entries are numbered from 1 in keys, as a reader counts
// [[suite]] headers. Unknown keys are errors, with a hint for near misses.
//
// Find locates the file by walking up from a directory. Options are layered:
// CLI defaults, then [run], then the selected [profile.NAME], then CLI flags;
// File.Profile gives [run] with a profile applied and Options.Merge applies
// the next layer.
package config
