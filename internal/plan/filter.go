package plan

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/volley-test/volley/internal/event"
)

// Filter selects tests by name. A test's name is its display id,
// event.ID(suite, test). A test is selected when it matches the regular
// expression (if any) and contains one of the patterns (if any).
type Filter struct {
	re       *regexp.Regexp
	patterns []string
}

// NewFilter compiles a filter; an empty regex and no patterns select all.
func NewFilter(regex string, patterns []string) (*Filter, error) {
	f := &Filter{patterns: patterns}
	if regex != "" {
		re, err := regexp.Compile(regex)
		if err != nil {
			return nil, fmt.Errorf("--filter %q: %w", regex, err)
		}
		f.re = re
	}
	return f, nil
}

// All reports whether the filter selects everything.
func (f *Filter) All() bool { return f == nil || (f.re == nil && len(f.patterns) == 0) }

// Match reports whether the filter selects a test.
func (f *Filter) Match(suite, test string) bool {
	if f.All() {
		return true
	}
	return f.matchID(event.ID(suite, test))
}

func (f *Filter) matchID(id string) bool {
	if f.re != nil && !f.re.MatchString(id) {
		return false
	}
	if len(f.patterns) == 0 {
		return true
	}
	for _, p := range f.patterns {
		if strings.Contains(id, p) {
			return true
		}
	}
	return false
}

// maxProbe bounds the test indices tried when deciding whether a filter
// could select any test of a suite whose tests cannot be listed.
const maxProbe = 256

func (f *Filter) anyIndex(suite string) bool {
	for i := 0; i < maxProbe; i++ {
		if f.matchID(event.ID(suite, strconv.Itoa(i))) {
			return true
		}
	}
	return false
}
