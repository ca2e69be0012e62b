package coverage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Go output files, in the report directory.
const (
	goCovdata   = "go-covdata" // merged covdata
	goProfile   = "go.cover.txt"
	goLCOV      = "go.lcov"
	goCobertura = "go.cobertura.xml"
	goHTML      = "go.html"
)

// maxArg bounds the -i list of one covdata run (Linux caps one argument
// at 128 KiB); Collector.maxArg overrides it in tests.
const maxArg = 64 << 10

// goDir is one process's GOCOVERDIR that holds data.
type goDir struct {
	name  string // the directory's name under raw/go: the process id
	id    int
	suite string
}

// mergeGo merges the per-process GOCOVERDIRs with the Go toolchain's own
// tools, then writes a text profile, LCOV, Cobertura and HTML.
func (c *Collector) mergeGo(ctx context.Context, snap *snapshot, w *warner) *Toolchain {
	rawGo := filepath.Join(c.raw, "go")
	dirs, noCounters := scanGoDirs(rawGo, snap)
	if n := len(noCounters); n > 0 {
		w.add("Go coverage: %s wrote no counters (killed before exit?), their coverage is lost: %s",
			plural(n, "process", "processes"), list(noCounters, 5))
	}
	wrote := map[int]bool{}
	for _, d := range dirs {
		wrote[d.id] = true
	}
	silent := 0
	for id, p := range snap.procs {
		if p.protocol == "gotest" && !wrote[id] {
			silent++
		}
	}
	if silent > 0 {
		w.add("Go coverage: %s of gotest suites wrote no coverage data (built without -cover, or run without -test.gocoverdir?)",
			plural(silent, "process", "processes"))
	}
	if len(dirs) == 0 {
		return nil
	}
	t := &Toolchain{Unit: "statements", Processes: len(dirs)}
	goTool, ok := lookGo()
	if !ok {
		t.Problem = fmt.Sprintf("Go coverage data found (%s) but the go command is not on PATH: cannot merge it",
			plural(len(dirs), "process", "processes"))
		w.add("%s", t.Problem)
		return t
	}
	// No network (go list must not download) and no toolchain switch.
	run := &tool{timeout: c.o.ToolTimeout, env: []string{"GOPROXY=off", "GOTOOLCHAIN=local"}}
	merged := filepath.Join(c.dir, goCovdata)
	good, err := c.covdataMerge(ctx, run, goTool, rawGo, dirs, merged, w)
	t.Dropped = len(dirs) - len(good)
	t.Processes = len(good)
	if err != nil {
		t.Problem = err.Error()
		w.add("Go coverage: %s", t.Problem)
		return t
	}
	profile := filepath.Join(c.dir, goProfile)
	if _, err := run.run(ctx, c.dir, nil, goTool, "tool", "covdata", "textfmt", "-i="+merged, "-o="+profile); err != nil {
		t.Problem = err.Error()
		w.add("Go coverage: %s", t.Problem)
		return t
	}
	t.Outputs = append(t.Outputs, goCovdata, goProfile)
	f, err := os.Open(profile)
	if err != nil {
		t.Problem = err.Error()
		return t
	}
	_, blocks, err := parseGoProfile(f)
	f.Close()
	if err != nil {
		t.Problem = fmt.Sprintf("read %s: %v", goProfile, err)
		w.add("Go coverage: %s", t.Problem)
		return t
	}
	t.Total, t.Covered = goStatements(blocks)
	t.Percent = percent(t.Covered, t.Total)

	var cwds []string
	for _, d := range good {
		if p := snap.procs[d.id]; p != nil && p.cwd != "" && !slices.Contains(cwds, p.cwd) {
			cwds = append(cwds, p.cwd)
		}
	}
	cwds = append(cwds, "") // volley's own directory
	paths, listedFrom := goFiles(ctx, run, goTool, blocks, cwds, w)
	lines := goLines(blocks, paths)
	root, _ := os.Getwd()
	if err := writeFile(filepath.Join(c.dir, goLCOV), func(w io.Writer) error { return writeLCOV(w, lines) }); err != nil {
		w.add("Go coverage: %v", err)
	} else {
		t.Outputs = append(t.Outputs, goLCOV)
	}
	if err := writeFile(filepath.Join(c.dir, goCobertura), func(w io.Writer) error {
		return writeCobertura(w, lines, root, time.Now())
	}); err != nil {
		w.add("Go coverage: %v", err)
	} else {
		t.Outputs = append(t.Outputs, goCobertura)
	}
	// go tool cover finds the sources with go list, from its directory.
	if _, err := run.run(ctx, listedFrom, nil, goTool, "tool", "cover", "-html="+profile, "-o="+filepath.Join(c.dir, goHTML)); err != nil {
		w.add("Go coverage: no %s: %v", goHTML, err)
	} else {
		t.Outputs = append(t.Outputs, goHTML)
	}
	return t
}

// scanGoDirs lists the process directories under rawGo that hold coverage
// data, and names the processes that wrote meta-data but no counters.
func scanGoDirs(rawGo string, snap *snapshot) (dirs []goDir, noCounters []string) {
	entries, err := os.ReadDir(rawGo)
	if err != nil {
		return nil, nil
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		id, _ := strconv.Atoi(e.Name())
		files, err := os.ReadDir(filepath.Join(rawGo, e.Name()))
		if err != nil || len(files) == 0 {
			continue
		}
		meta, counters := false, false
		for _, f := range files {
			meta = meta || strings.HasPrefix(f.Name(), "covmeta.")
			counters = counters || strings.HasPrefix(f.Name(), "covcounters.")
		}
		if !meta && !counters {
			continue
		}
		d := goDir{name: e.Name(), id: id, suite: snap.suiteOf(id, "")}
		if !counters {
			noCounters = append(noCounters, fmt.Sprintf("suite %s (process %d)", d.suite, id))
		}
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b goDir) int { return a.id - b.id })
	return dirs, noCounters
}

// covdataMerge merges dirs (relative to rawGo) into out with
// `go tool covdata merge`, in batches that fit one argument. When a batch
// fails, each of its directories is checked alone and the unreadable ones
// are dropped with a warning naming the suite. It returns the directories
// merged.
func (c *Collector) covdataMerge(ctx context.Context, run *tool, goTool, rawGo string, dirs []goDir, out string, w *warner) ([]goDir, error) {
	if err := os.RemoveAll(out); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	merge := func(dir string, inputs []string, out string) error {
		_, err := run.run(ctx, dir, nil, goTool, "tool", "covdata", "merge", "-pcombine", "-i="+strings.Join(inputs, ","), "-o="+out)
		return err
	}
	limit := maxArg
	if c.maxArg > 0 {
		limit = c.maxArg
	}
	var batches [][]goDir
	size := 0
	for _, d := range dirs {
		if len(batches) == 0 || size+len(d.name)+1 > limit {
			batches = append(batches, nil)
			size = 0
		}
		batches[len(batches)-1] = append(batches[len(batches)-1], d)
		size += len(d.name) + 1
	}
	parts := filepath.Join(c.dir, goCovdata+".parts")
	defer os.RemoveAll(parts)
	var good []goDir
	var partDirs []string
	for i, batch := range batches {
		dst := out
		if len(batches) > 1 {
			dst = filepath.Join(parts, strconv.Itoa(i))
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return nil, err
			}
		}
		names := func(ds []goDir) []string {
			var n []string
			for _, d := range ds {
				n = append(n, d.name)
			}
			return n
		}
		err := merge(rawGo, names(batch), dst)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			var ok []goDir
			for _, d := range batch {
				if _, err := run.run(ctx, rawGo, nil, goTool, "tool", "covdata", "percent", "-i="+d.name); err != nil {
					w.add("Go coverage of suite %s (process %d): data unreadable, dropped: %v", d.suite, d.id, err)
					continue
				}
				ok = append(ok, d)
			}
			batch = ok
			if len(batch) == 0 {
				continue
			}
			// Start again from an empty directory: the failed run may
			// have written part of its output.
			if err := os.RemoveAll(dst); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return nil, err
			}
			if err := merge(rawGo, names(batch), dst); err != nil {
				return good, fmt.Errorf("merge Go coverage: %w", err)
			}
		}
		good = append(good, batch...)
		partDirs = append(partDirs, dst)
	}
	if len(good) == 0 {
		return nil, errors.New("no Go coverage data could be read")
	}
	if len(batches) > 1 {
		if err := merge("", partDirs, out); err != nil {
			return good, fmt.Errorf("merge Go coverage: %w", err)
		}
	}
	return good, nil
}

// goFiles maps the profile's file names (import path + file name) to files
// on disk with `go list`, run from each of cwds in turn until every package
// is found. Files that cannot be located keep their import path, with a
// warning. listedFrom is the directory that resolved the most packages.
func goFiles(ctx context.Context, run *tool, goTool string, blocks []goBlock, cwds []string, w *warner) (paths map[string]string, listedFrom string) {
	files := map[string]bool{}
	pkgs := map[string]string{} // import path -> dir, "" while unknown
	for _, b := range blocks {
		files[b.File] = true
		pkgs[path.Dir(b.File)] = ""
	}
	best := -1
	for _, cwd := range cwds {
		var want []string
		for p, d := range pkgs {
			if d == "" {
				want = append(want, p)
			}
		}
		if len(want) == 0 {
			break
		}
		slices.Sort(want)
		var out strings.Builder
		args := append([]string{"list", "-e", "-json=ImportPath,Dir"}, want...)
		if _, err := run.run(ctx, cwd, &out, goTool, args...); err != nil && out.Len() == 0 {
			continue
		}
		found := 0
		dec := json.NewDecoder(strings.NewReader(out.String()))
		for {
			var p struct{ ImportPath, Dir string }
			if err := dec.Decode(&p); err != nil {
				break
			}
			if d, ok := pkgs[p.ImportPath]; ok && d == "" && p.Dir != "" {
				pkgs[p.ImportPath] = p.Dir
				found++
			}
		}
		if found > best {
			best, listedFrom = found, cwd
		}
	}
	paths = map[string]string{}
	var missing []string
	for f := range files {
		dir := pkgs[path.Dir(f)]
		if dir == "" {
			missing = append(missing, f)
			continue
		}
		p := filepath.Join(dir, path.Base(f))
		if _, err := os.Stat(p); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.add("Go coverage: %v", err)
			}
			missing = append(missing, f)
			continue
		}
		paths[f] = p
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		w.add("Go coverage: %s not found on disk with go list; %s and %s name them by import path: %s",
			plural(len(missing), "source file", "source files"), goLCOV, goCobertura, list(missing, 3))
	}
	return paths, listedFrom
}
