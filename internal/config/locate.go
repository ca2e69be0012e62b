package config

import (
	"strconv"
	"strings"
)

// locate maps every key, table header and array element of a TOML document
// to the line where it first appears, keyed by keyPath.String(). The TOML
// library does not expose key positions, so this is a small scanner: it
// follows [table] and [[array]] headers (numbering array entries from 1),
// dotted and quoted keys, inline tables, arrays and all four string forms.
// It expects text the TOML parser accepted; on anything else it stops early
// and returns what it found, never panicking.
func locate(src string) map[string]int {
	l := &locator{src: src, line: 1, lines: map[string]int{}, arrays: map[string]int{}}
	if strings.HasPrefix(l.src, "\ufeff") {
		l.pos = len("\ufeff")
	}
	l.document()
	return l.lines
}

// locator is the scanning state of locate.
type locator struct {
	src    string
	pos    int
	line   int
	lines  map[string]int
	arrays map[string]int // [[array]] path without index -> entries seen
	table  keyPath        // table that key/value lines belong to
}

func (l *locator) eof() bool { return l.pos >= len(l.src) }

// peek returns the current byte, or 0 at the end.
func (l *locator) peek() byte {
	if l.eof() {
		return 0
	}
	return l.src[l.pos]
}

// advance moves one byte on, counting lines.
func (l *locator) advance() {
	if l.eof() {
		return
	}
	if l.src[l.pos] == '\n' {
		l.line++
	}
	l.pos++
}

// record notes line for p unless p was seen before.
func (l *locator) record(p keyPath, line int) {
	k := p.String()
	if _, ok := l.lines[k]; !ok {
		l.lines[k] = line
	}
}

// skipSpace skips blanks within a line.
func (l *locator) skipSpace() {
	for c := l.peek(); c == ' ' || c == '\t' || c == '\r'; c = l.peek() {
		l.advance()
	}
}

// skipBlank skips blanks, newlines and comments.
func (l *locator) skipBlank() {
	for !l.eof() {
		switch l.peek() {
		case ' ', '\t', '\r', '\n':
			l.advance()
		case '#':
			for !l.eof() && l.peek() != '\n' {
				l.advance()
			}
		default:
			return
		}
	}
}

// document scans top-level statements: headers and key/value pairs.
func (l *locator) document() {
	for {
		l.skipBlank()
		if l.eof() {
			return
		}
		start := l.pos
		if l.peek() == '[' {
			l.header()
		} else {
			l.keyValue(l.table)
		}
		if l.pos == start {
			return // not TOML we understand; keep what we have
		}
	}
}

// header scans a [table] or [[array]] header and makes it current.
func (l *locator) header() {
	line := l.line
	l.advance()
	array := l.peek() == '['
	if array {
		l.advance()
	}
	segs := l.keySegments()
	l.skipSpace()
	for l.peek() == ']' {
		l.advance()
	}
	var p keyPath
	for i, s := range segs {
		p = p.child(s)
		l.record(p, line)
		if array && i == len(segs)-1 {
			k := p.String()
			l.arrays[k]++
			p = p.index(l.arrays[k])
		} else if n := l.arrays[p.String()]; n > 0 {
			p = p.index(n)
		}
		l.record(p, line)
	}
	l.table = p
}

// keyValue scans `key = value` (dotted keys allowed) within table.
func (l *locator) keyValue(table keyPath) {
	line := l.line
	segs := l.keySegments()
	if len(segs) == 0 {
		return
	}
	p := table
	for _, s := range segs {
		p = p.child(s)
		l.record(p, line)
	}
	l.skipSpace()
	if l.peek() != '=' {
		return
	}
	l.advance()
	l.skipSpace()
	l.value(p)
}

// keySegments scans a possibly dotted key and returns its unquoted parts.
func (l *locator) keySegments() []string {
	var segs []string
	for {
		l.skipSpace()
		var s string
		switch c := l.peek(); {
		case c == '"':
			s = l.basicString()
		case c == '\'':
			s = l.literalString()
		case c >= 0x80 || isBareKeyChar(rune(c)):
			start := l.pos
			for c := l.peek(); c >= 0x80 || c != 0 && isBareKeyChar(rune(c)); c = l.peek() {
				l.advance()
			}
			s = l.src[start:l.pos]
		default:
			return segs
		}
		segs = append(segs, s)
		l.skipSpace()
		if l.peek() != '.' {
			return segs
		}
		l.advance()
	}
}

// value scans one value; keys inside inline tables and array elements are
// recorded under p.
func (l *locator) value(p keyPath) {
	switch {
	case strings.HasPrefix(l.src[l.pos:], `"""`):
		l.multiString(`"""`, true)
	case strings.HasPrefix(l.src[l.pos:], `'''`):
		l.multiString(`'''`, false)
	case l.peek() == '"':
		l.basicString()
	case l.peek() == '\'':
		l.literalString()
	case l.peek() == '[':
		l.array(p)
	case l.peek() == '{':
		l.inlineTable(p)
	default:
		for !l.eof() && !strings.ContainsRune(",]}#\n", rune(l.peek())) {
			l.advance()
		}
	}
}

// array scans [v, v, ...], recording each element as p[i].
func (l *locator) array(p keyPath) {
	l.advance()
	for i := 1; ; i++ {
		l.skipBlank()
		if l.eof() {
			return
		}
		if l.peek() == ']' {
			l.advance()
			return
		}
		ep := p.index(i)
		l.record(ep, l.line)
		l.value(ep)
		l.skipBlank()
		if l.peek() == ',' {
			l.advance()
		} else if l.peek() != ']' {
			return
		}
	}
}

// inlineTable scans {k = v, ...}, recording keys under p.
func (l *locator) inlineTable(p keyPath) {
	l.advance()
	for {
		l.skipBlank()
		if l.eof() {
			return
		}
		if l.peek() == '}' {
			l.advance()
			return
		}
		l.keyValue(p)
		l.skipBlank()
		switch l.peek() {
		case ',':
			l.advance()
		case '}':
			l.advance()
			return
		default:
			return
		}
	}
}

// basicString scans "..." and returns its content with escapes resolved
// where Go's rules agree with TOML's (raw content otherwise).
func (l *locator) basicString() string {
	l.advance()
	start := l.pos
	for !l.eof() && l.peek() != '"' && l.peek() != '\n' {
		if l.peek() == '\\' {
			l.advance()
		}
		l.advance()
	}
	raw := l.src[start:l.pos]
	if l.peek() == '"' {
		l.advance()
	}
	if s, err := strconv.Unquote(`"` + raw + `"`); err == nil {
		return s
	}
	return raw
}

// literalString scans '...' and returns its content.
func (l *locator) literalString() string {
	l.advance()
	start := l.pos
	for !l.eof() && l.peek() != '\'' && l.peek() != '\n' {
		l.advance()
	}
	s := l.src[start:l.pos]
	if l.peek() == '\'' {
		l.advance()
	}
	return s
}

// multiString scans a multi-line string opened by delim (already current),
// including up to two quote characters right before the closing delimiter.
func (l *locator) multiString(delim string, escapes bool) {
	for range delim {
		l.advance()
	}
	for !l.eof() {
		switch {
		case escapes && l.peek() == '\\':
			l.advance()
			l.advance()
		case strings.HasPrefix(l.src[l.pos:], delim):
			for range delim {
				l.advance()
			}
			for n := 0; n < 2 && l.peek() == delim[0]; n++ {
				l.advance()
			}
			return
		default:
			l.advance()
		}
	}
}
