package config

import (
	"testing"

	"github.com/BurntSushi/toml"
)

func TestLocate(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int
	}{
		{
			name: "tables and keys",
			src:  "top = 1\n\n[run]\njobs = 4\n  # comment\nfail_fast = true # trailing\n",
			want: map[string]int{"top": 1, "run": 3, "run.jobs": 4, "run.fail_fast": 6},
		},
		{
			name: "array of tables numbered from 1",
			src:  "[[suite]]\nname = \"a\"\n\n[[suite]]\nname = \"b\"\n[suite.env]\nX = \"1\"\n",
			want: map[string]int{"suite": 1, "suite[1]": 1, "suite[1].name": 2, "suite[2]": 4, "suite[2].name": 5, "suite[2].env": 6, "suite[2].env.X": 7},
		},
		{
			name: "nested arrays restart per parent",
			src:  "[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[[a]]\n[[a.b]]\nx = 3\n",
			want: map[string]int{"a[1].b[1].x": 3, "a[1].b[2].x": 5, "a[2].b[1].x": 8},
		},
		{
			name: "dotted and quoted keys",
			src:  "a.b . c = 1\n\"x.y\".z = 2\n'lit'.\"q\\\"k\" = 3\n[ profile . \"my ci\" ]\njobs = 1\n",
			want: map[string]int{"a": 1, "a.b": 1, "a.b.c": 1, `"x.y"`: 2, `"x.y".z`: 2, `lit."q\"k"`: 3, `profile."my ci"`: 4, `profile."my ci".jobs`: 5},
		},
		{
			name: "inline tables and arrays",
			src:  "env = { A = \"1\", b.c = 2 }\npaths = [\n  \"x\",\n  3,\n]\nsuite = [ {name = \"p\"},\n  {name = \"q\"} ]\n",
			want: map[string]int{"env.A": 1, "env.b.c": 1, "paths[1]": 3, "paths[2]": 4, "suite[1].name": 6, "suite[2]": 7, "suite[2].name": 7},
		},
		{
			name: "strings hide fake syntax",
			src:  "s = \"\"\"\n[fake]\nx = 1 \\\"\"\" \"\"\"\"\nt = '''\n[[fake]]\n'''\nu = \"# not a comment [x]\"\nv = 'a\\'\nw = 1\n",
			want: map[string]int{"s": 1, "t": 4, "u": 7, "v": 8, "w": 9},
		},
		{
			name: "crlf and bom",
			src:  "\ufeffa = 1\r\n[t]\r\nb = 2\r\n",
			want: map[string]int{"a": 1, "t": 2, "t.b": 3},
		},
		{
			name: "datetimes and numbers",
			src:  "d = 1979-05-27 07:32:00Z\nn = -1_000\nf = [1.5, inf]\nz = 2\n",
			want: map[string]int{"d": 1, "n": 2, "f[2]": 3, "z": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v map[string]any
			if _, err := toml.Decode(tt.src, &v); err != nil {
				t.Fatalf("test input is not valid TOML: %v", err)
			}
			got := locate(tt.src)
			for k, line := range tt.want {
				if got[k] != line {
					t.Errorf("line of %s = %d, want %d (all: %v)", k, got[k], line, got)
				}
			}
			for k := range got {
				if k == "fake" || k == "x" {
					t.Errorf("located %q from inside a string", k)
				}
			}
		})
	}
}

// FuzzLocate checks that locate never panics or loops, and that on valid
// TOML it finds every top-level key.
func FuzzLocate(f *testing.F) {
	f.Add("a = 1\n[t]\nb = [1, {c = 2}]\n[[s]]\nd = \"\"\"x\n\"\"\"\n")
	f.Add("'''\n[")
	f.Add("a = { b = [ { c = '")
	f.Add("[[a.b]]\n[a.b.c]\n\"k\\u00e9\" = 1")
	f.Fuzz(func(t *testing.T, src string) {
		got := locate(src)
		var v map[string]any
		if _, err := toml.Decode(src, &v); err != nil {
			return
		}
		for k := range v {
			if _, ok := got[keyPath(nil).child(k).String()]; !ok {
				t.Errorf("top-level key %q not located in %q", k, src)
			}
		}
	})
}
