package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeConfig writes src as volley.toml in a fresh temp dir and returns its path.
func writeConfig(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

const fullConfig = `# a complete volley.toml
state_dir = "state"

[run]
jobs = 8
timeout = "1m30s"
grace = 5
fail_fast = true
max_fail = 3
verbose = true
filter = "parse"
no_capture = false
no_cache = true
retries = 1
protocol = "tml"
junit = "out/junit.xml"
json = "/tmp/events.ndjson"
html = "out/report.html"
format = "plain"
order = "slowest-first"
coverage = true
slow_timeout = 0.5
leak = "warn"
memory_budget = "8GiB"

[profile.ci]
jobs = 2
fail_fast = false

[profile."nightly run"]
memory_budget = 1024

[groups.gpu]
max = 1

[coverage]
functions = "build/functions.txt"
output = "/var/cov"

[[suite]]
name = "unit"
protocol = "gotest"
paths = ["build/*.test", "/opt/extra.test"]
cwd = "pkg"
env = { GOFLAGS = "-count=1", "A.B" = "x" }
timeout = 20
args = ["-test.short"]
inputs = "testdata/**"
granularity = "test"
threads = 2
retries = 0

[[suite]]
name = "compiler"
paths = "tests/*.tml"
interpreter = ["python3", "-u"]
group = "gpu"
[suite.env]
TML_LEVEL = "3"
`

func TestLoadFull(t *testing.T) {
	path := writeConfig(t, fullConfig)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	want := &File{
		Path: path,
		Dir:  dir,
		Run: Options{
			Jobs: ptr(8), Timeout: &Duration{90 * time.Second}, Grace: &Duration{5 * time.Second},
			FailFast: ptr(true), MaxFail: ptr(3), Verbose: ptr(1), Filter: ptr("parse"),
			NoCapture: ptr(false), NoCache: ptr(true), Retries: ptr(1), Protocol: ptr("tml"),
			JUnit: ptr(filepath.Join(dir, "out/junit.xml")), JSON: ptr("/tmp/events.ndjson"),
			HTML: ptr(filepath.Join(dir, "out/report.html")), Format: ptr("plain"),
			Order: ptr("slowest-first"), Coverage: ptr(true), SlowTimeout: &Duration{500 * time.Millisecond},
			Leak: ptr("warn"), MemoryBudget: ptr("8GiB"),
		},
		Suites: []Suite{
			{
				Name: "unit", Protocol: "gotest", Paths: []string{"build/*.test", "/opt/extra.test"},
				Cwd: "pkg", Env: map[string]string{"GOFLAGS": "-count=1", "A.B": "x"},
				Timeout: Duration{20 * time.Second}, Args: []string{"-test.short"},
				Inputs: []string{"testdata/**"}, Granularity: "test", Threads: 2, Retries: ptr(0), Line: 40,
			},
			{
				Name: "compiler", Paths: []string{"tests/*.tml"}, Interpreter: []string{"python3", "-u"},
				Group: "gpu", Env: map[string]string{"TML_LEVEL": "3"}, Line: 53,
			},
		},
		Profiles: map[string]Options{
			"ci":          {Jobs: ptr(2), FailFast: ptr(false)},
			"nightly run": {MemoryBudget: ptr("1024")},
		},
		Groups:   map[string]Group{"gpu": {Max: 1}},
		Coverage: Coverage{Functions: filepath.Join(dir, "build/functions.txt"), Output: "/var/cov"},
		StateDir: filepath.Join(dir, "state"),
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Load mismatch\n got: %+v\nwant: %+v", f, want)
		for i := range min(len(f.Suites), len(want.Suites)) {
			if !reflect.DeepEqual(f.Suites[i], want.Suites[i]) {
				t.Errorf("suite %d\n got: %+v\nwant: %+v", i, f.Suites[i], want.Suites[i])
			}
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	path := writeConfig(t, "[[suite]]\npaths = [\"t/*\"]\n")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Suites[0].Name != "default" {
		t.Errorf("single unnamed suite: name %q, want default", f.Suites[0].Name)
	}
	if want := filepath.Join(filepath.Dir(path), ".volley"); f.StateDir != want {
		t.Errorf("StateDir = %q, want %q", f.StateDir, want)
	}
	if f.Suites[0].Line != 1 {
		t.Errorf("Line = %d, want 1", f.Suites[0].Line)
	}

	f, err = Load(writeConfig(t, ""))
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	if len(f.Suites) != 0 || f.Run.Jobs != nil {
		t.Errorf("empty file gave %+v", f)
	}
}

func TestLoadDurations(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		err   string
	}{
		{`"20s"`, 20 * time.Second, ""},
		{`"1m30s"`, 90 * time.Second, ""},
		{`"250ms"`, 250 * time.Millisecond, ""},
		{`45`, 45 * time.Second, ""},
		{`0`, 0, ""},
		{`1.5`, 1500 * time.Millisecond, ""},
		{`"abc"`, 0, `invalid duration "abc" (use e.g. "20s")`},
		{`"20"`, 0, `invalid duration "20" (use e.g. "20s")`},
		{`-3`, 0, `negative duration -3`},
		{`"-1s"`, 0, `negative duration "-1s"`},
		{`true`, 0, `want a string like "20s" or a number of seconds, got boolean true`},
		{`99999999999999`, 0, `out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			path := writeConfig(t, "[run]\ntimeout = "+tt.value+"\n")
			f, err := Load(path)
			if tt.err != "" {
				want := path + ":2: run.timeout: "
				if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want prefix %q containing %q", err, want, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if f.Run.Timeout == nil || f.Run.Timeout.Duration != tt.want {
				t.Errorf("timeout = %v, want %v", f.Run.Timeout, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const two = "[[suite]]\nname = \"a\"\npaths = [\"x\"]\n\n[[suite]]\nname = \"b\"\npaths = [\"y\"]\n"
	tests := []struct {
		name string
		src  string
		line int
		key  string
		msg  string // substring of Error.Msg
	}{
		{"syntax", "[run]\njobs = \n", 2, "run.jobs", "invalid TOML"},
		{"syntax header", "[run\n", 1, "", "invalid TOML"},
		{"duplicate key", "[run]\njobs = 1\njobs = 2\n", 3, "run.jobs", "invalid TOML"},
		{"bad duration in 2nd suite", two + "timeout = \"abc\"\n", 8, "suite[2].timeout", `invalid duration "abc" (use e.g. "20s")`},
		{"type error", "[run]\n\njobs = \"4\"\n", 3, "run.jobs", `want an integer, got string "4"`},
		{"bool type", "[run]\nfail_fast = 1\n", 2, "run.fail_fast", "want true or false, got integer 1"},
		{"jobs zero", "[run]\njobs = 0\n", 2, "run.jobs", "must be at least 1, got 0"},
		{"max_fail negative", "[profile.ci]\nmax_fail = -1\n", 2, "profile.ci.max_fail", "must be at least 0"},
		{"unknown key hint", "[run]\njobs = 1\nfail-fast = true\n", 3, "run.fail-fast", `unknown key "fail-fast" (did you mean "fail_fast"?)`},
		{"unknown key transposed", "[run]\njbos = 1\n", 2, "run.jbos", `did you mean "jobs"?`},
		{"unknown key list", "[coverage]\nzzz = 1\n", 2, "coverage.zzz", `unknown key "zzz" (known: functions, output, sources)`},
		{"unknown table", "\n[runn]\njobs = 1\n", 2, "runn", `did you mean "run"?`},
		{"option at top level", "jobs = 4\n", 1, "jobs", "it belongs in [run]"},
		{"suite key in run", "[run]\npaths = [\"x\"]\n", 2, "run.paths", "it belongs in [[suite]]"},
		{"unknown suite key", two + "\n[[suite]]\nname = \"c\"\npaths = [\"z\"]\ntimout = 3\n", 12, "suite[3].timout", `did you mean "timeout"?`},
		{"suite without paths", "[[suite]]\nname = \"a\"\n", 1, "suite[1].paths", "missing"},
		{"suite empty paths", "[[suite]]\npaths = []\n", 2, "suite[1].paths", "must not be empty"},
		{"suite bad path element", "[[suite]]\npaths = [\n  \"a\",\n  7,\n]\n", 4, "suite[1].paths[2]", "want a string, got integer 7"},
		{"single [suite] table", "[suite]\npaths = [\"x\"]\n", 1, "suite", "write [[suite]], not [suite]"},
		{"name required", two + "\n[[suite]]\npaths = [\"z\"]\n", 9, "suite[3].name", "missing"},
		{"duplicate name", two + "\n[[suite]]\nname = \"a\"\npaths = [\"z\"]\n", 10, "suite[3].name", `duplicate suite name "a" (first at line 1)`},
		{"bad protocol", "[[suite]]\npaths = [\"x\"]\nprotocol = \"gtset\"\n", 3, "suite[1].protocol", `did you mean "gtest"?`},
		{"bad protocol in run", "[run]\nprotocol = \"junit\"\n", 2, "run.protocol", "want one of exec, tml, tap, gotest, gtest, libtest"},
		{"bad granularity", "[[suite]]\npaths = [\"x\"]\ngranularity = \"file\"\n", 3, "suite[1].granularity", `unknown granularity "file"`},
		{"unknown group", "[groups.gpu]\nmax = 2\n[[suite]]\npaths = [\"x\"]\ngroup = \"gpus\"\n", 5, "suite[1].group", `unknown group "gpus" (did you mean "gpu"?)`},
		{"no groups", "[[suite]]\npaths = [\"x\"]\ngroup = \"net\"\n", 3, "suite[1].group", "define it with [groups.net]"},
		{"group max missing", "[groups.gpu]\n", 1, "groups.gpu.max", "missing"},
		{"group max zero", "[groups.gpu]\nmax = 0\n", 2, "groups.gpu.max", "must be at least 1"},
		{"threads zero", "[[suite]]\npaths = [\"x\"]\nthreads = 0\n", 3, "suite[1].threads", "must be at least 1, got 0"},
		{"env value type", "[[suite]]\npaths = [\"x\"]\nenv = { A = 1 }\n", 3, "suite[1].env.A", "want a string, got integer 1"},
		{"args scalar", "[[suite]]\npaths = [\"x\"]\nargs = \"-v\"\n", 3, "suite[1].args", `want a list of strings, e.g. ["-v"]`},
		{"inline suite array", "suite = [\n  { name = \"a\", paths = [\"x\"] },\n  { name = \"b\", paths = [\"y\"], jobz = 1 },\n]\n", 3, "suite[2].jobz", `did you mean "jobs"? it belongs in [run]`},
		{"known list", "[[suite]]\npaths = [\"x\"]\nqqqqqq = 1\n", 3, "suite[1].qqqqqq", "(known: args, cwd, env, granularity, group, inputs,"},
		{"top-level key of two tables", "timeout = 3\n", 1, "timeout", "it belongs in [run] or [[suite]]"},
		{"quoted profile", "[profile.\"my ci\"]\njobs = -2\n", 2, `profile."my ci".jobs`, "must be at least 1"},
		{"state_dir empty", "state_dir = \"\"\n", 1, "state_dir", "must not be empty"},
		{"profile not table", "profile = 3\n", 1, "profile", "want a table, got integer 3"},
		{"multi-line string before error", "[run]\nfilter = \"\"\"\njobs = 1\n\"\"\"\njobs = \"x\"\n", 5, "run.jobs", "want an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.src)
			_, err := Load(path)
			t.Log(err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.File != path || e.Line != tt.line || e.Key != tt.key || !strings.Contains(e.Msg, tt.msg) {
				t.Errorf("got  %s:%d: %s: %s\nwant %s:%d: %s: ...%s...", e.File, e.Line, e.Key, e.Msg, path, tt.line, tt.key, tt.msg)
			}
		})
	}
}

func TestLoadErrorFormat(t *testing.T) {
	e := &Error{File: "volley.toml", Line: 12, Key: "suite[2].timeout", Msg: `invalid duration "abc" (use e.g. "20s")`}
	if got, want := e.Error(), `volley.toml:12: suite[2].timeout: invalid duration "abc" (use e.g. "20s")`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestLoadSeveralErrors(t *testing.T) {
	path := writeConfig(t, "[run]\njobs = 0\n[[suite]]\nthreads = 0\npaths = [\"x\"]\nbogus = 1\n")
	_, err := Load(path)
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		path + ":2: run.jobs: must be at least 1, got 0",
		path + ":4: suite[1].threads: must be at least 1, got 0",
		path + ":6: suite[1].bogus: unknown key \"bogus\"",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("error %d = %q, want prefix %q", i, lines[i], want[i])
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want ErrNotExist", err)
	}
}

// FuzzParse checks that no input makes the loader panic, and that every
// reported error has a line when the input is valid TOML.
func FuzzParse(f *testing.F) {
	f.Add(fullConfig)
	f.Add("[[suite]]\npaths = 3\n[groups.x]\nmax = \"y\"\n")
	f.Add("suite = [1, {paths = []}]\nprofile.a.jobs = 0\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := parse("volley.toml", "/p/volley.toml", []byte(src))
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}
	})
}

func TestCoverageSources(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "volley.toml")
	os.WriteFile(p, []byte("[coverage]\nsources = [\"lib/core\", \"/opt/lib/std\"]\n"), 0o644)
	f, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "lib/core"), "/opt/lib/std"}; !slices.Equal(f.Coverage.Sources, want) {
		t.Errorf("sources %v, want %v", f.Coverage.Sources, want)
	}
}
