package config

import "fmt"

// suites decodes the [[suite]] tables.
func (d *decoder) suites(root *table, f *File) []Suite {
	v, ok := root.get("suite")
	if !ok {
		return nil
	}
	var tables []map[string]any
	switch v := v.(type) {
	case []map[string]any:
		tables = v
	case []any:
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				d.errorf(keyPath{"suite"}.index(i+1), "want a table, got %s", describe(e))
				continue
			}
			tables = append(tables, m)
		}
	case map[string]any:
		root.errorf("suite", "want [[suite]] tables, got a single table (write [[suite]], not [suite])")
		return nil
	default:
		root.typeErr("suite", "[[suite]] tables", v)
		return nil
	}
	out := make([]Suite, 0, len(tables))
	for i, m := range tables {
		t := d.table(keyPath{"suite"}.index(i+1), m)
		s := d.suite(t, f)
		s.Line = d.line(t.path)
		t.finish(belongs(home{"[run]", optionKeys()}))
		out = append(out, s)
	}
	return out
}

// suite decodes one [[suite]] table.
func (d *decoder) suite(t *table, f *File) Suite {
	var s Suite
	s.Name, _ = t.str("name")
	s.Protocol, _ = t.oneOf("protocol", protocols)
	if v, ok := t.m["paths"]; !ok {
		t.errorf("paths", `missing: every [[suite]] needs paths, e.g. paths = ["build/tests/*"]`)
	} else if arr, isArr := v.([]any); isArr && len(arr) == 0 {
		t.errorf("paths", "must not be empty")
	}
	s.Paths = t.strings("paths", true, `["build/tests/*"]`)
	for i, p := range s.Paths {
		if p == "" {
			d.errorf(t.path.child("paths").index(i+1), "must not be empty")
		}
	}
	s.Cwd, _ = t.str("cwd")
	s.Env = d.env(t)
	s.Timeout, _ = t.duration("timeout")
	s.Args = t.strings("args", false, `["-v"]`)
	s.Interpreter = t.strings("interpreter", false, `["python3", "-u"]`)
	s.Inputs = t.strings("inputs", true, `["testdata/**"]`)
	s.Granularity, _ = t.oneOf("granularity", granularities)
	s.Group, _ = t.str("group")
	if n := t.intAtLeast("threads", 1); n != nil {
		s.Threads = *n
	}
	s.Retries = t.intAtLeast("retries", 0)
	return s
}

// env decodes a suite's env table: string values only.
func (d *decoder) env(t *table) map[string]string {
	et, ok := t.sub("env")
	if !ok {
		return nil
	}
	out := make(map[string]string, len(et.m))
	for _, k := range sortedKeys(et.m) {
		if v, ok := et.str(k); ok {
			out[k] = v
		}
	}
	return out
}

// checkSuites validates what spans suites: names and group references.
func (d *decoder) checkSuites(f *File) {
	first := map[string]int{} // name -> index
	for i := range f.Suites {
		s := &f.Suites[i]
		p := keyPath{"suite"}.index(i + 1)
		if s.Name == "" {
			if len(f.Suites) == 1 {
				s.Name = "default"
			} else {
				d.errorf(p.child("name"), "missing: every [[suite]] needs a name when there are several")
			}
		} else if j, dup := first[s.Name]; dup {
			d.errorf(p.child("name"), "duplicate suite name %q (first at line %d)", s.Name, f.Suites[j].Line)
		} else {
			first[s.Name] = i
		}
		if s.Group != "" {
			if _, ok := f.Groups[s.Group]; !ok {
				d.errorf(p.child("group"), "%s", unknownGroupMsg(s.Group, f.Groups))
			}
		}
	}
}

// unknownGroupMsg explains a reference to an undefined group.
func unknownGroupMsg(name string, groups map[string]Group) string {
	known := sortedKeys(groups)
	if near := Nearest(name, known); near != "" {
		return fmt.Sprintf("unknown group %q (did you mean %q?)", name, near)
	}
	return fmt.Sprintf("unknown group %q (define it with [groups.%s] and max = N)", name, formatKey(name))
}
