package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// decoder collects errors while a decoded TOML tree is turned into a File.
type decoder struct {
	name  string         // file name for messages, as given to Load
	lines map[string]int // keyPath.String() -> line, from locate
	errs  []*Error
}

// line returns the line of p, or of its nearest located ancestor.
func (d *decoder) line(p keyPath) int {
	for n := len(p); n > 0; n-- {
		if l, ok := d.lines[p[:n].String()]; ok {
			return l
		}
	}
	return 0
}

// errorf records a problem with key p.
func (d *decoder) errorf(p keyPath, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.name, Line: d.line(p), Key: p.String(), Msg: fmt.Sprintf(format, args...)})
}

// table is one TOML table being decoded. Every getter marks its key as
// known, so finish can report the rest as unknown.
type table struct {
	d     *decoder
	path  keyPath
	m     map[string]any
	known map[string]bool
}

func (d *decoder) table(p keyPath, m map[string]any) *table {
	return &table{d: d, path: p, m: m, known: map[string]bool{}}
}

// errorf records a problem with key in this table.
func (t *table) errorf(key, format string, args ...any) {
	t.d.errorf(t.path.child(key), format, args...)
}

// get returns the raw value of key.
func (t *table) get(key string) (any, bool) {
	t.known[key] = true
	v, ok := t.m[key]
	return v, ok
}

// typeErr records that key has the wrong type.
func (t *table) typeErr(key, want string, v any) {
	t.errorf(key, "want %s, got %s", want, describe(v))
}

// str returns a string value.
func (t *table) str(key string) (string, bool) {
	v, ok := t.get(key)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		t.typeErr(key, "a string", v)
	}
	return s, ok
}

// strPtr returns a string value as a pointer, nil when absent or invalid.
func (t *table) strPtr(key string) *string {
	if s, ok := t.str(key); ok {
		return &s
	}
	return nil
}

// integer returns an int value.
func (t *table) integer(key string) (int, bool) {
	v, ok := t.get(key)
	if !ok {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		t.typeErr(key, "an integer", v)
		return 0, false
	}
	if n > math.MaxInt32 || n < math.MinInt32 {
		t.errorf(key, "%d is out of range", n)
		return 0, false
	}
	return int(n), true
}

// intAtLeast returns an int value that must be >= lo, as a pointer.
func (t *table) intAtLeast(key string, lo int) *int {
	n, ok := t.integer(key)
	if !ok {
		return nil
	}
	if n < lo {
		t.errorf(key, "must be at least %d, got %d", lo, n)
		return nil
	}
	return &n
}

// boolPtr returns a boolean value as a pointer.
func (t *table) boolPtr(key string) *bool {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	b, ok := v.(bool)
	if !ok {
		t.typeErr(key, "true or false", v)
		return nil
	}
	return &b
}

// duration returns a Duration value.
func (t *table) duration(key string) (Duration, bool) {
	v, ok := t.get(key)
	if !ok {
		return Duration{}, false
	}
	d, err := parseDuration(v)
	if err != nil {
		t.errorf(key, "%v", err)
		return Duration{}, false
	}
	return d, true
}

// durationPtr returns a Duration value as a pointer.
func (t *table) durationPtr(key string) *Duration {
	if d, ok := t.duration(key); ok {
		return &d
	}
	return nil
}

// strings returns an array of strings; with scalarOK a lone string is taken
// as a one-element list.
func (t *table) strings(key string, scalarOK bool, example string) []string {
	v, ok := t.get(key)
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok && scalarOK {
		return []string{s}
	}
	arr, ok := v.([]any)
	if !ok {
		t.errorf(key, "want a list of strings, e.g. %s, got %s", example, describe(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			t.d.errorf(t.path.child(key).index(i+1), "want a string, got %s", describe(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

// sub returns the table under key.
func (t *table) sub(key string) (*table, bool) {
	v, ok := t.get(key)
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.typeErr(key, "a table", v)
		return nil, false
	}
	return t.d.table(t.path.child(key), m), true
}

// finish reports every key nobody asked for. elsewhere names, for keys that
// are valid in another table, where they belong.
func (t *table) finish(elsewhere map[string]string) {
	known := make([]string, 0, len(t.known))
	for k := range t.known {
		known = append(known, k)
	}
	for _, k := range sortedKeys(t.m) {
		if !t.known[k] {
			t.errorf(k, "%s", unknownKeyMsg(k, known, elsewhere))
		}
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describe names the TOML type of a decoded value, with the value when short.
func describe(v any) string {
	switch v := v.(type) {
	case string, int64, float64, bool:
		return typeName(v) + " " + literal(v)
	default:
		return typeName(v)
	}
}

// typeName is the TOML name of a decoded value's type.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// literal writes a scalar roughly as TOML would.
func literal(v any) string {
	switch v := v.(type) {
	case string:
		if r := []rune(v); len(r) > 40 {
			v = string(r[:37]) + "..."
		}
		return strconv.Quote(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		return fmt.Sprint(v)
	}
}
