// Package archive packs the suites a volley.toml describes, their inputs
// and the config into one gzipped tar with a manifest (volley archive), and
// unpacks such a file for a run on another machine (volley test --archive).
//
// Extraction trusts nothing in the file: every name and link target must be
// a local path, each entry must be listed in the manifest exactly once, and
// every file's size and sha256 must match it. The whole archive is checked
// before anything is written; writing then goes through an os.Root, creates
// every file anew (never through an existing name or link) and checks the
// content again.
package archive
