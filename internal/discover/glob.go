package discover

import (
	"path/filepath"
	"sort"

	"github.com/bmatcuk/doublestar/v4"
)

// glob expands pattern, relative to dir unless absolute. Besides the
// filepath.Match syntax it understands `**` (any number of directories,
// including none) and `{a,b}` alternatives. Matches are sorted.
func glob(pattern, dir string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(dir, pattern)
	}
	if !doublestar.ValidatePathPattern(pattern) {
		return nil, doublestar.ErrBadPattern
	}
	ms, err := doublestar.FilepathGlob(pattern)
	sort.Strings(ms)
	return ms, err
}

// isGlob reports whether s has glob syntax.
func isGlob(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '{':
			return true
		}
	}
	return false
}
