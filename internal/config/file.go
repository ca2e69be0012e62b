package config

import "path/filepath"

// FileName is the name Find looks for.
const FileName = "volley.toml"

// DefaultStateDir is the state directory, relative to the file's directory,
// used when the file sets no state_dir.
const DefaultStateDir = ".volley"

// File is a loaded and validated volley.toml.
type File struct {
	Path     string             // absolute path of the file
	Dir      string             // its directory: suite paths, cwd and inputs are relative to it
	Run      Options            // top-level [run] table: defaults for run options
	Suites   []Suite            // [[suite]] tables in file order
	Profiles map[string]Options // [profile.NAME] tables
	Groups   map[string]Group   // [groups.NAME] tables
	Coverage Coverage           // [coverage] table
	// Quarantine lists tests (suite::test, or a suite) that run but whose
	// failures do not fail the run.
	Quarantine []string
	StateDir   string // state_dir, absolute; Dir/.volley when not set
}

// Suite is one [[suite]] table: a set of test executables run the same way.
// Paths, Cwd and Inputs are kept as written; resolve them with File.Abs.
// In the file, paths and inputs may be a single string instead of a list.
type Suite struct {
	Name        string            // unique; "default" when the file has one unnamed suite
	Protocol    string            // "", "exec", "tml", "tap", "gotest", "gtest", "libtest"; "" = detect
	Paths       []string          // globs, relative to Dir (absolute allowed); at least one
	Cwd         string            // working directory, relative to Dir; "" = not set
	Env         map[string]string // added to the environment
	Timeout     Duration          // per process; zero = not set
	Args        []string          // extra arguments
	Interpreter []string          // command prefix, e.g. ["python3", "-u"]
	Inputs      []string          // globs whose content is part of the cache key
	Granularity string            // "", "suite", "test", "auto"
	Group       string            // a key of File.Groups, or ""
	Threads     int               // slots one process takes; 0 = not set (means 1)
	Retries     *int              // nil = not set
	Line        int               // line of the [[suite]] header, for messages
}

// Group is a [groups.NAME] table: at most Max processes of suites in the
// group run at once.
type Group struct {
	Max int // at least 1
}

// Coverage is the [coverage] table.
type Coverage struct {
	Functions string // file listing every function name (the denominator), absolute; "" = not set
	Output    string // directory for merged coverage, absolute; "" = not set
	// Sources are TML library directories scanned for every function (the
	// denominator, an alternative to Functions), absolute.
	Sources []string
}

// Abs resolves p against the file's directory unless it is absolute already.
func (f *File) Abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.Dir, p)
}
