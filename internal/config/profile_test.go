package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestProfile(t *testing.T) {
	src := `
[run]
jobs = 4
fail_fast = true
filter = "base"

[profile.default]
filter = "dflt"

[profile.ci]
jobs = 2
verbose = 2
`
	f, err := Load(writeConfig(t, src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		profile string
		want    Options
		err     string
	}{
		{"", Options{Jobs: ptr(4), FailFast: ptr(true), Filter: ptr("dflt")}, ""},
		{"default", Options{Jobs: ptr(4), FailFast: ptr(true), Filter: ptr("dflt")}, ""},
		{"ci", Options{Jobs: ptr(2), FailFast: ptr(true), Filter: ptr("base"), Verbose: ptr(2)}, ""},
		{"cj", Options{}, `unknown profile "cj" (did you mean "ci"?)`},
		{"nightly", Options{}, `unknown profile "nightly" (known: ci, default)`},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			got, err := f.Profile(tt.profile)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), f.Path+": ") {
					t.Fatalf("err = %v, want %s: ...%s", err, f.Path, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}

	// CLI flags are merged last and win over the profile.
	p, _ := f.Profile("ci")
	final := Options{Jobs: ptr(1), MaxFail: ptr(0)}.Merge(p).Merge(Options{Jobs: ptr(16)})
	if *final.Jobs != 16 || *final.MaxFail != 0 || *final.Verbose != 2 || *final.FailFast != true {
		t.Errorf("layering: got %+v", final)
	}
}

func TestProfileWithoutDefault(t *testing.T) {
	f, err := Load(writeConfig(t, "[run]\njobs = 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Profile("default")
	if err != nil || got.Jobs == nil || *got.Jobs != 3 {
		t.Errorf("Profile(default) = %+v, %v; want [run] options", got, err)
	}
	if _, err := f.Profile("ci"); err == nil || !strings.Contains(err.Error(), "no [profile.NAME] tables") {
		t.Errorf("Profile(ci) err = %v", err)
	}

	var none *File
	if got, err := none.Profile(""); err != nil || !reflect.DeepEqual(got, Options{}) {
		t.Errorf("nil File default profile = %+v, %v", got, err)
	}
	if _, err := none.Profile("ci"); err == nil || !strings.Contains(err.Error(), "no volley.toml found") {
		t.Errorf("nil File Profile(ci) err = %v", err)
	}
}

// TestMergeEveryField sets each field alone in over and checks that it wins,
// so a field added to Options but forgotten in Merge fails here.
func TestMergeEveryField(t *testing.T) {
	base := Options{}
	fillAll(reflect.ValueOf(&base).Elem())
	typ := reflect.TypeOf(Options{})
	for i := range typ.NumField() {
		t.Run(typ.Field(i).Name, func(t *testing.T) {
			var over Options
			fv := reflect.ValueOf(&over).Elem().Field(i)
			fv.Set(reflect.New(fv.Type().Elem()))
			got := base.Merge(over)
			if reflect.ValueOf(got).Field(i).Pointer() != fv.Pointer() {
				t.Errorf("%s set in over did not win", typ.Field(i).Name)
			}
			for j := range typ.NumField() {
				if j != i && reflect.ValueOf(got).Field(j).Pointer() != reflect.ValueOf(base).Field(j).Pointer() {
					t.Errorf("%s unset in over did not keep base", typ.Field(j).Name)
				}
			}
		})
	}
	if got := base.Merge(Options{}); !reflect.DeepEqual(got, base) {
		t.Errorf("merging empty changed options")
	}
}

// fillAll sets every pointer field of the struct v to a fresh value.
func fillAll(v reflect.Value) {
	for i := range v.NumField() {
		v.Field(i).Set(reflect.New(v.Field(i).Type().Elem()))
	}
}
