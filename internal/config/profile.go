package config

import (
	"fmt"
	"strings"
)

// DefaultProfile is the profile used when none is named. It may be absent
// from the file.
const DefaultProfile = "default"

// Profile returns the options the file gives for the named profile: [run]
// with [profile.NAME] merged over it. "" means DefaultProfile, which need not
// exist. An unknown name is an error listing the known ones. A nil File (no
// config found) knows only the default profile, which is empty.
func (f *File) Profile(name string) (Options, error) {
	if name == "" {
		name = DefaultProfile
	}
	var run Options
	var profiles map[string]Options
	where := "no " + FileName + " found"
	if f != nil {
		run, profiles, where = f.Run, f.Profiles, f.Path
	}
	if p, ok := profiles[name]; ok {
		return run.Merge(p), nil
	}
	if name == DefaultProfile {
		return run, nil
	}
	known := sortedKeys(profiles)
	msg := fmt.Sprintf("unknown profile %q", name)
	switch {
	case Nearest(name, known) != "":
		msg += fmt.Sprintf(" (did you mean %q?)", Nearest(name, known))
	case len(known) > 0:
		msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	default:
		msg += " (no [profile.NAME] tables defined)"
	}
	return Options{}, fmt.Errorf("%s: %s", where, msg)
}
