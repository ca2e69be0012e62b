package config

import (
	"strconv"
	"strings"
)

// keyPath is a key in a TOML document, one formatted segment per element:
// a bare or quoted key ("suite", `"a.b"`) or an array index ("[2]", from 1).
// Its String form is what error messages show and what the locator records.
type keyPath []string

// child returns p extended by the key name, quoted when it is not a bare key.
func (p keyPath) child(name string) keyPath {
	return append(p[:len(p):len(p)], formatKey(name))
}

// index returns p extended by the 1-based array index i.
func (p keyPath) index(i int) keyPath {
	return append(p[:len(p):len(p)], "["+strconv.Itoa(i)+"]")
}

// String joins the segments: keys with dots, indexes attached.
func (p keyPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 && !strings.HasPrefix(s, "[") {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// formatKey quotes a key unless it consists only of bare-key characters.
func formatKey(name string) string {
	if name == "" {
		return `""`
	}
	for _, r := range name {
		if !isBareKeyChar(r) {
			return strconv.Quote(name)
		}
	}
	return name
}

// isBareKeyChar reports whether r may appear in an unquoted TOML key.
func isBareKeyChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}
