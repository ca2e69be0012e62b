package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a config file, located by line and key.
// Load returns one *Error, or several joined with errors.Join in line order;
// errors.As finds the first.
type Error struct {
	File string // path as passed to Load
	Line int    // 1-based; 0 when unknown
	Key  string // e.g. "suite[2].timeout"; empty for some syntax errors
	Msg  string
}

// Error formats the problem as "file:line: key: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// sortErrors orders errors by line, then key, for stable output.
func sortErrors(errs []*Error) {
	sort.SliceStable(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Key < errs[j].Key
	})
}
