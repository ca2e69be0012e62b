package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// protocols are the valid values of protocol; "" (detect) is also accepted.
var protocols = []string{"exec", "tml", "tap", "gotest", "gtest", "libtest"}

// granularities are the valid values of granularity; "" is also accepted.
var granularities = []string{"suite", "test", "auto"}

// file decodes the whole document.
func (d *decoder) file(abs string, raw map[string]any) *File {
	f := &File{Path: abs, Dir: filepath.Dir(abs)}
	root := d.table(nil, raw)
	if t, ok := root.sub("run"); ok {
		f.Run = d.options(t, f)
		t.finish(belongs(home{"[[suite]]", suiteKeys()}))
	}
	f.Profiles = d.profiles(root, f)
	f.Groups = d.groups(root)
	f.Suites = d.suites(root, f)
	if t, ok := root.sub("coverage"); ok {
		f.Coverage.Functions = t.absPath("functions", f)
		f.Coverage.Output = t.absPath("output", f)
		for _, src := range t.strings("sources", true, `["lib/core", "lib/std"]`) {
			f.Coverage.Sources = append(f.Coverage.Sources, f.Abs(src))
		}
		t.finish(nil)
	}
	f.StateDir = filepath.Join(f.Dir, DefaultStateDir)
	if _, ok := root.m["state_dir"]; ok {
		f.StateDir = root.absPath("state_dir", f)
	}
	f.Quarantine = root.strings("quarantine", false, `quarantine = ["suite::test"]`)
	root.finish(belongs(home{"[run]", optionKeys()}, home{"[[suite]]", suiteKeys()}))
	d.checkSuites(f)
	return f
}

// options decodes run options from [run] or a [profile.NAME] table.
func (d *decoder) options(t *table, f *File) Options {
	var o Options
	o.Jobs = t.intAtLeast("jobs", 1)
	o.Timeout = t.durationPtr("timeout")
	o.Grace = t.durationPtr("grace")
	o.FailFast = t.boolPtr("fail_fast")
	o.MaxFail = t.intAtLeast("max_fail", 0)
	o.Verbose = t.verbose("verbose")
	o.Filter = t.strPtr("filter")
	o.NoCapture = t.boolPtr("no_capture")
	o.NoCache = t.boolPtr("no_cache")
	o.Retries = t.intAtLeast("retries", 0)
	if s, ok := t.oneOf("protocol", protocols); ok {
		o.Protocol = &s
	}
	o.JUnit = t.pathPtr("junit", f)
	o.JSON = t.pathPtr("json", f)
	o.HTML = t.pathPtr("html", f)
	o.Format = t.strPtr("format")
	o.Order = t.strPtr("order")
	o.Coverage = t.boolPtr("coverage")
	o.SlowTimeout = t.durationPtr("slow_timeout")
	o.Leak = t.strPtr("leak")
	o.MemoryBudget = t.memoryBudget("memory_budget")
	return o
}

// profiles decodes the [profile.NAME] tables.
func (d *decoder) profiles(root *table, f *File) map[string]Options {
	t, ok := root.sub("profile")
	if !ok {
		return nil
	}
	out := map[string]Options{}
	for _, name := range sortedKeys(t.m) {
		if pt, ok := t.sub(name); ok {
			out[name] = d.options(pt, f)
			pt.finish(belongs(home{"[[suite]]", suiteKeys()}))
		}
	}
	return out
}

// groups decodes the [groups.NAME] tables.
func (d *decoder) groups(root *table) map[string]Group {
	t, ok := root.sub("groups")
	if !ok {
		return nil
	}
	out := map[string]Group{}
	for _, name := range sortedKeys(t.m) {
		gt, ok := t.sub(name)
		if !ok {
			continue
		}
		if _, ok := gt.m["max"]; !ok {
			gt.errorf("max", "missing: a group needs max = N, the number of its processes that may run at once")
		}
		if n := gt.intAtLeast("max", 1); n != nil {
			out[name] = Group{Max: *n}
		}
		gt.finish(nil)
	}
	return out
}

// oneOf returns a string that must be "" or one of allowed.
func (t *table) oneOf(key string, allowed []string) (string, bool) {
	s, ok := t.str(key)
	if !ok || s == "" || slices.Contains(allowed, s) {
		return s, ok
	}
	hint := ""
	if near := Nearest(s, allowed); near != "" {
		hint = fmt.Sprintf("; did you mean %q?", near)
	}
	t.errorf(key, "unknown %s %q (want one of %s%s)", key, s, strings.Join(allowed, ", "), hint)
	return "", false
}

// absPath returns a non-empty path resolved against the file's directory.
func (t *table) absPath(key string, f *File) string {
	s, ok := t.str(key)
	if ok && s == "" {
		t.errorf(key, "must not be empty")
	}
	return f.Abs(s)
}

// pathPtr is path for an optional run option; "" is kept as given.
func (t *table) pathPtr(key string, f *File) *string {
	s, ok := t.str(key)
	if !ok {
		return nil
	}
	s = f.Abs(s)
	return &s
}

// verbose returns a level: a non-negative integer, or true (1) / false (0).
func (t *table) verbose(key string) *int {
	v, ok := t.m[key]
	if b, isBool := v.(bool); ok && isBool {
		t.known[key] = true
		n := 0
		if b {
			n = 1
		}
		return &n
	}
	return t.intAtLeast(key, 0)
}

// memoryBudget returns a size string; an integer is taken as bytes.
func (t *table) memoryBudget(key string) *string {
	v, ok := t.m[key]
	if n, isInt := v.(int64); ok && isInt {
		t.known[key] = true
		if n < 0 {
			t.errorf(key, "must not be negative, got %d", n)
			return nil
		}
		s := strconv.FormatInt(n, 10)
		return &s
	}
	return t.strPtr(key)
}

// keysOf lists the keys a decoding function asks for, so hint tables never
// drift from the decoders.
func keysOf(decode func(*table)) []string {
	t := (&decoder{}).table(nil, map[string]any{})
	decode(t)
	return sortedKeys(t.known)
}

// optionKeys lists the keys of [run] and [profile.NAME].
func optionKeys() []string {
	return keysOf(func(t *table) { (&decoder{}).options(t, &File{}) })
}

// suiteKeys lists the keys of [[suite]].
func suiteKeys() []string {
	return keysOf(func(t *table) { (&decoder{}).suite(t, &File{}) })
}

// home is a table and the keys that belong in it, for belongs.
type home struct {
	table string
	keys  []string
}

// belongs maps each key of the given tables to the table(s) it belongs in,
// for hints on keys written in the wrong place.
func belongs(homes ...home) map[string]string {
	m := map[string]string{}
	for _, h := range homes {
		for _, k := range h.keys {
			if m[k] != "" {
				m[k] += " or " + h.table
			} else {
				m[k] = h.table
			}
		}
	}
	return m
}
