package cache

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeState parses history.json. Its bulk is a record per test, twice
// (the suite's cache entry and the test's history); encoding/json's
// reflection took most of volley's start-up on suites of many tests (0.15 s
// for 52,000). The records are parsed here by hand; the rare parts (cache
// keys, file memos, anything unexpected) go to encoding/json. Whatever the
// hand parser does not accept is decoded again by json.Unmarshal, which
// decides: so the result is always json.Unmarshal's (TestDecodeStateAgrees
// checks both on valid and damaged files).
func decodeState(data []byte) (*state, error) {
	d := &decoder{b: data}
	st := new(state)
	if d.state(st) && d.end() {
		return st, nil
	}
	st = new(state)
	if err := json.Unmarshal(data, st); err != nil {
		return nil, err
	}
	return st, nil
}

// decoder is a JSON reader for the state's shape. Any surprise sets bad,
// after which every method returns false or zero values.
type decoder struct {
	b   []byte
	i   int
	bad bool
}

func (d *decoder) fail() bool { d.bad = true; return false }

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// eat consumes c (after white space) if it is next.
func (d *decoder) eat(c byte) bool {
	d.ws()
	if !d.bad && d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// null consumes a null if it is next.
func (d *decoder) null() bool {
	d.ws()
	if !d.bad && len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *decoder) end() bool {
	d.ws()
	return !d.bad && d.i == len(d.b)
}

// object reads {"key": value, ...}, calling field for each key with the
// decoder at the value, which field must consume. A null is no object.
// The key's bytes are valid only during the call.
func (d *decoder) object(field func(key []byte) bool) bool {
	if d.null() {
		return true
	}
	if !d.eat('{') {
		return d.fail()
	}
	if d.eat('}') {
		return true
	}
	for {
		k, ok := d.strBytes()
		if !ok || !d.eat(':') || !field(k) {
			return d.fail()
		}
		if d.eat(',') {
			continue
		}
		if d.eat('}') {
			return true
		}
		return d.fail()
	}
}

// str reads a string.
func (d *decoder) str() (string, bool) {
	b, ok := d.strBytes()
	return string(b), ok
}

// strBytes reads a string: the bytes between the quotes of one without
// escapes, else what encoding/json, which knows every escape, makes of it.
func (d *decoder) strBytes() ([]byte, bool) {
	quoted, escaped, ok := d.quoted()
	if !ok {
		return nil, false
	}
	if !escaped {
		b := quoted[1 : len(quoted)-1]
		if !validPlain(b) {
			return nil, d.fail()
		}
		return b, true
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return nil, d.fail()
	}
	return []byte(s), true
}

// quoted reads a string and returns it with its quotes, and whether it
// has escapes.
func (d *decoder) quoted() (quoted []byte, escaped, ok bool) {
	d.ws()
	if d.bad || d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false, d.fail()
	}
	start := d.i
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			d.i = j + 1
			return d.b[start:d.i], escaped, true
		case c < 0x20:
			return nil, false, d.fail()
		}
	}
	return nil, false, d.fail()
}

// validPlain reports whether s, an unescaped string's bytes, decodes to
// itself: encoding/json replaces invalid UTF-8, so such a string is left
// to it.
func validPlain(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] >= 0x80 {
			return utf8.Valid(b[i:])
		}
	}
	return true
}

// int reads an integer (no fraction or exponent, as encoding/json wants
// for an integer field).
func (d *decoder) int() int64 {
	d.ws()
	j := d.i
	if j < len(d.b) && d.b[j] == '-' {
		j++
	}
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
		j++
	}
	if d.bad || j == d.i || j < len(d.b) && (d.b[j] == '.' || d.b[j] == 'e' || d.b[j] == 'E') {
		d.fail()
		return 0
	}
	digits := d.b[d.i:j]
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' { // not JSON
		d.fail()
		return 0
	}
	v, err := strconv.ParseInt(string(d.b[d.i:j]), 10, 64)
	if err != nil {
		d.fail()
		return 0
	}
	d.i = j
	return v
}

// raw skips one value and returns its bytes, for encoding/json.
func (d *decoder) raw() []byte {
	d.ws()
	if d.bad {
		return nil
	}
	start := d.i
	switch {
	case d.null():
	case d.i < len(d.b) && d.b[d.i] == '"':
		d.strBytes()
	case d.i < len(d.b) && (d.b[d.i] == '{' || d.b[d.i] == '['):
		depth := 0
		for d.i < len(d.b) {
			switch c := d.b[d.i]; c {
			case '"':
				if _, _, ok := d.quoted(); !ok {
					return nil
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			d.i++
			if depth == 0 {
				if !json.Valid(d.b[start:d.i]) {
					d.fail()
					return nil
				}
				return d.b[start:d.i]
			}
		}
		d.fail()
	default:
		for d.i < len(d.b) && d.b[d.i] != ',' && d.b[d.i] != '}' && d.b[d.i] != ']' {
			d.i++
		}
	}
	if d.bad || !json.Valid(d.b[start:d.i]) {
		d.fail()
		return nil
	}
	return d.b[start:d.i]
}

// other skips the value of a key that names no field. encoding/json
// matches field names without regard to case, so a key that differs from
// one only in case is left to it.
func (d *decoder) other(k []byte, fields ...string) {
	for _, f := range fields {
		if strings.EqualFold(string(k), f) {
			d.fail()
			return
		}
	}
	d.raw()
}

// json decodes the next value into v with encoding/json.
func (d *decoder) json(v any) bool {
	b := d.raw()
	if d.bad || json.Unmarshal(b, v) != nil {
		return d.fail()
	}
	return true
}

func (d *decoder) time(t *time.Time) bool {
	d.ws()
	var b []byte
	if d.i < len(d.b) && d.b[d.i] == '"' {
		b, _, _ = d.quoted() // UnmarshalJSON takes it quoted, escapes and all
	} else {
		b = d.raw()
	}
	if d.bad || t.UnmarshalJSON(b) != nil {
		return d.fail()
	}
	return true
}

func (d *decoder) state(st *state) bool {
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "version":
			st.Version = int(d.int())
		case "run":
			st.Run = d.int()
		case "suites":
			if d.null() {
				st.Suites = nil
				return true
			}
			if st.Suites == nil {
				st.Suites = map[string]*SuiteEntry{}
			}
			return d.object(func(key []byte) bool {
				name := string(key)
				if d.null() {
					st.Suites[name] = nil
					return true
				}
				// A repeated key replaces, as encoding/json does.
				e := new(SuiteEntry)
				st.Suites[name] = e
				return d.suite(e)
			})
		case "history":
			if d.null() {
				st.History = nil
				return true
			}
			if st.History == nil {
				st.History = map[string]map[string]*TestHistory{}
			}
			return d.object(func(key []byte) bool {
				suite := string(key)
				if d.null() {
					st.History[suite] = nil
					return true
				}
				tests := map[string]*TestHistory{}
				st.History[suite] = tests
				return d.object(func(key []byte) bool {
					test := string(key)
					if d.null() {
						tests[test] = nil
						return true
					}
					h := new(TestHistory)
					tests[test] = h
					return d.history(h)
				})
			})
		case "files":
			return d.json(&st.Files)
		default:
			d.other(k, "version", "run", "suites", "history", "files")
		}
		return !d.bad
	})
}

func (d *decoder) suite(e *SuiteEntry) bool {
	seenTests := false
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "key":
			return d.json(&e.Key)
		case "run":
			e.Run = d.int()
		case "time":
			return d.time(&e.Time)
		case "tests":
			if seenTests {
				// encoding/json decodes a repeated array into the
				// elements already there; that is left to it.
				return d.fail()
			}
			seenTests = true
			if d.null() {
				e.Tests = nil
				return true
			}
			if !d.eat('[') {
				return d.fail()
			}
			e.Tests = e.Tests[:0]
			if e.Tests == nil {
				e.Tests = []TestEntry{}
			}
			if d.eat(']') {
				return true
			}
			for {
				var t TestEntry
				if !d.test(&t) {
					return d.fail()
				}
				e.Tests = append(e.Tests, t)
				if d.eat(',') {
					continue
				}
				if d.eat(']') {
					return true
				}
				return d.fail()
			}
		default:
			d.other(k, "key", "run", "time", "tests")
		}
		return !d.bad
	})
}

func (d *decoder) test(t *TestEntry) bool {
	if d.null() { // encoding/json leaves a null element zero
		return true
	}
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "test":
			t.Test, _ = d.str()
		case "status":
			t.Status, _ = d.str()
		case "dur":
			t.Duration = time.Duration(d.int())
		case "cpu":
			t.CPU = time.Duration(d.int())
		case "rss":
			t.MaxRSS = d.int()
		default:
			d.other(k, "test", "status", "dur", "cpu", "rss")
		}
		return !d.bad
	})
}

func (d *decoder) history(h *TestHistory) bool {
	return d.object(func(k []byte) bool {
		switch string(k) {
		case "dur":
			h.Duration = time.Duration(d.int())
		case "cpu":
			h.CPU = time.Duration(d.int())
		case "rss":
			h.MaxRSS = d.int()
		case "status":
			h.LastStatus, _ = d.str()
		case "pass_streak":
			h.PassStreak = int(d.int())
		case "fail_streak":
			h.FailStreak = int(d.int())
		case "runs":
			h.Runs = int(d.int())
		case "seen":
			h.LastSeen = d.int()
		case "time":
			return d.time(&h.LastRun)
		case "recent":
			h.Recent, _ = d.str()
		case "parallel":
			h.Parallel = int(d.int())
		default:
			d.other(k, "dur", "cpu", "rss", "status", "pass_streak", "fail_streak", "runs", "seen", "time", "recent", "parallel")
		}
		return !d.bad
	})
}
