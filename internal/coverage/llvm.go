package coverage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LLVM output files, in the report directory.
const (
	llvmProfdata  = "merged.profdata"
	llvmLCOV      = "llvm.lcov"
	llvmCobertura = "llvm.cobertura.xml"
	llvmHTML      = "llvm-html"
	llvmInputs    = "llvm-inputs.txt"
)

// profraw is one raw profile: raw/llvm/<proc>-<pid>-<signature>.profraw.
type profraw struct {
	path  string
	id    int
	suite string
}

// mergeLLVM merges the raw profiles with llvm-profdata and exports them
// with llvm-cov against the binaries that wrote them.
func (c *Collector) mergeLLVM(ctx context.Context, snap *snapshot, w *warner) *Toolchain {
	files, _ := filepath.Glob(filepath.Join(c.raw, "llvm", "*.profraw"))
	if len(files) == 0 {
		return nil
	}
	t := &Toolchain{Unit: "lines"}
	var raws []profraw
	for _, f := range files {
		prefix, _, _ := strings.Cut(filepath.Base(f), "-")
		id, _ := strconv.Atoi(prefix)
		p := profraw{path: f, id: id, suite: snap.suiteOf(id, "")}
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			w.add("LLVM coverage of suite %s (process %d): empty profile %s (process killed?), dropped", p.suite, id, filepath.Base(f))
			t.Dropped++
			continue
		}
		raws = append(raws, p)
	}
	profdata, cov := lookLLVM(c.o.LLVMBin)
	if profdata == "" {
		t.Problem = fmt.Sprintf("LLVM coverage data found (%s) but llvm-profdata is not installed (apt-get install llvm)",
			plural(len(files), "profile", "profiles"))
		w.add("%s", t.Problem)
		return t
	}
	if len(raws) == 0 {
		t.Problem = "every LLVM profile was empty"
		return t
	}
	run := &tool{timeout: c.o.ToolTimeout}
	merged := filepath.Join(c.dir, llvmProfdata)
	good, err := c.profdataMerge(ctx, run, profdata, raws, merged, w)
	t.Dropped += len(raws) - len(good)
	if err != nil {
		t.Problem = err.Error()
		w.add("LLVM coverage: %s", t.Problem)
		return t
	}
	t.Outputs = append(t.Outputs, llvmProfdata)
	ids := map[int]bool{}
	for _, p := range good {
		ids[p.id] = true
	}
	t.Processes = len(ids)
	if cov == "" {
		t.Problem = "profiles merged into " + llvmProfdata + " but llvm-cov is not installed (apt-get install llvm)"
		w.add("%s", t.Problem)
		return t
	}

	// The binaries that wrote profiles, then the extra objects.
	var objects []string
	unknown := 0
	for _, p := range good {
		info := snap.procs[p.id]
		if info == nil || info.path == "" {
			unknown++
			continue
		}
		if !slices.Contains(objects, info.path) {
			objects = append(objects, info.path)
		}
	}
	if unknown > 0 {
		w.add("LLVM coverage: %s from processes volley did not start here; give their binaries as coverage objects",
			plural(unknown, "profile comes", "profiles come"))
	}
	for _, o := range c.o.Objects {
		if abs, err := filepath.Abs(o); err == nil && !slices.Contains(objects, abs) {
			objects = append(objects, abs)
		}
	}
	objects = slices.DeleteFunc(objects, func(o string) bool {
		if _, err := os.Stat(o); err != nil {
			w.add("LLVM coverage: binary %s is gone, its coverage cannot be mapped: %v", o, err)
			return true
		}
		return false
	})
	if len(objects) == 0 {
		t.Problem = "profiles merged into " + llvmProfdata + " but no binary is known to map them to source lines"
		w.add("LLVM coverage: %s", t.Problem)
		return t
	}
	lines, objects, err := llvmExport(ctx, run, cov, merged, objects, filepath.Join(c.dir, llvmLCOV), w)
	if err != nil {
		t.Problem = err.Error()
		w.add("LLVM coverage: %s", t.Problem)
		return t
	}
	t.Outputs = append(t.Outputs, llvmLCOV)
	t.Total, t.Covered = lines.totals()
	t.Percent = percent(t.Covered, t.Total)
	root, _ := os.Getwd()
	if err := writeFile(filepath.Join(c.dir, llvmCobertura), func(w io.Writer) error {
		return writeCobertura(w, lines, root, time.Now())
	}); err != nil {
		w.add("LLVM coverage: %v", err)
	} else {
		t.Outputs = append(t.Outputs, llvmCobertura)
	}
	html := filepath.Join(c.dir, llvmHTML)
	args := append([]string{"show", "-format=html", "-output-dir=" + html, "-instr-profile=" + merged}, objectArgs(objects)...)
	if _, err := run.run(ctx, "", io.Discard, cov, args...); err != nil {
		w.add("LLVM coverage: no HTML: %v", err)
	} else {
		t.Outputs = append(t.Outputs, llvmHTML+"/index.html")
	}
	return t
}

// objectArgs is llvm-cov's way of naming several binaries.
func objectArgs(objects []string) []string {
	args := []string{objects[0]}
	for _, o := range objects[1:] {
		args = append(args, "-object="+o)
	}
	return args
}

// profdataMerge merges raws into out. When the merge fails (a profile
// cut short by a killed process), every profile is checked alone and the
// unreadable ones are dropped with a warning naming the suite.
func (c *Collector) profdataMerge(ctx context.Context, run *tool, profdata string, raws []profraw, out string, w *warner) ([]profraw, error) {
	inputs := filepath.Join(c.dir, llvmInputs)
	defer os.Remove(inputs)
	merge := func(raws []profraw) error {
		if err := writeFile(inputs, func(w io.Writer) error {
			for _, p := range raws {
				// An explicit weight, so a comma in the path is not one.
				if _, err := fmt.Fprintf(w, "1,%s\n", p.path); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		_, err := run.run(ctx, "", nil, profdata, "merge", "-sparse", "-input-files="+inputs, "-o="+out)
		return err
	}
	err := merge(raws)
	if err == nil {
		return raws, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	var good []profraw
	for _, p := range raws {
		if _, err := run.run(ctx, "", io.Discard, profdata, "show", p.path); err != nil {
			w.add("LLVM coverage of suite %s (process %d): unreadable profile %s, dropped: %v", p.suite, p.id, filepath.Base(p.path), err)
			continue
		}
		good = append(good, p)
	}
	if len(good) == 0 {
		return nil, fmt.Errorf("%s could read none of the %s (written by a newer LLVM? Rust's are read by rustc's own llvm-tools): %v",
			filepath.Base(profdata), plural(len(raws), "profile", "profiles"), err)
	}
	if err := merge(good); err != nil {
		return good, err
	}
	return good, nil
}

// llvmExport writes the LCOV of objects to path and returns it parsed, with
// the objects that could be exported. All objects are exported at once;
// when that fails, one by one, dropping the ones llvm-cov cannot read.
func llvmExport(ctx context.Context, run *tool, cov, profile string, objects []string, path string, w *warner) (lineSet, []string, error) {
	mismatch := func(stderr, what string) {
		if strings.Contains(stderr, "mismatched data") {
			w.add("LLVM coverage: %s: some functions' profile does not match the binary (rebuilt after the run?): %s", what, firstLines(stderr, 2))
		}
	}
	base := []string{"export", "-format=lcov", "-instr-profile=" + profile}
	var stderr string
	err := writeFile(path, func(out io.Writer) error {
		var err error
		stderr, err = run.run(ctx, "", out, cov, append(base, objectArgs(objects)...)...)
		return err
	})
	if err == nil {
		mismatch(stderr, strings.Join(objects, ", "))
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		lines, bad, err := parseLCOV(f)
		if bad > 0 {
			w.add("LLVM coverage: %s: %s ignored", llvmLCOV, plural(bad, "malformed line", "malformed lines"))
		}
		return lines, objects, err
	}
	if ctx.Err() != nil || len(objects) == 1 {
		return nil, nil, err
	}
	all := lineSet{}
	var ok []string
	for _, o := range objects {
		var buf bytes.Buffer
		stderr, err := run.run(ctx, "", &buf, cov, append(base, o)...)
		if err != nil {
			w.add("LLVM coverage: llvm-cov cannot map the profile onto %s, skipped: %v", o, err)
			continue
		}
		mismatch(stderr, o)
		lines, _, err := parseLCOV(&buf)
		if err != nil {
			w.add("LLVM coverage: %s: %v", o, err)
			continue
		}
		all.add(lines)
		ok = append(ok, o)
	}
	if len(ok) == 0 {
		return nil, nil, fmt.Errorf("llvm-cov could map the profile onto none of %s", strings.Join(objects, ", "))
	}
	if err := writeFile(path, func(w io.Writer) error { return writeLCOV(w, all) }); err != nil {
		return nil, nil, err
	}
	return all, ok, nil
}
