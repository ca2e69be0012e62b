package cache

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/volley-test/volley/internal/jsonx"
)

// encodeState writes st as json.Marshal would (map keys sorted), but a
// test at a time: saving the history of 100,000 tests needs no buffer of
// the whole file, nor the copies a growing one leaves behind.
func encodeState(w io.Writer, st *state) error {
	e := &encoder{w: bufio.NewWriterSize(w, 64<<10)}
	e.raw(`{"version":`)
	e.value(st.Version)
	e.raw(`,"run":`)
	e.value(st.Run)
	e.raw(`,"suites":{`)
	for i, name := range slices.Sorted(maps.Keys(st.Suites)) {
		s := st.Suites[name]
		e.sep(i)
		e.key(name)
		e.raw(`{"key":`)
		e.value(s.Key)
		e.raw(`,"run":`)
		e.value(s.Run)
		e.raw(`,"time":`)
		e.value(s.Time)
		e.raw(`,"tests":`)
		if s.Tests == nil {
			e.raw("null")
		} else {
			e.raw("[")
			for j := range s.Tests {
				e.sep(j)
				e.buf = appendTestEntry(e.buf[:0], &s.Tests[j])
				e.bytes(e.buf)
			}
			e.raw("]")
		}
		e.raw("}")
	}
	e.raw(`},"history":{`)
	for i, suite := range slices.Sorted(maps.Keys(st.History)) {
		e.sep(i)
		e.key(suite)
		e.raw("{")
		tests := st.History[suite]
		for j, test := range slices.Sorted(maps.Keys(tests)) {
			e.sep(j)
			e.key(test)
			if h := tests[test]; h == nil || h.LastRun.Year() < 0 || h.LastRun.Year() > 9999 {
				e.value(h) // null, or the error json.Marshal gives such a time
			} else {
				e.buf = appendTestHistory(e.buf[:0], h)
				e.bytes(e.buf)
			}
		}
		e.raw("}")
	}
	e.raw(`},"files":`)
	e.value(st.Files)
	e.raw("}")
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// encoder writes JSON pieces and keeps the first error.
type encoder struct {
	w   *bufio.Writer
	err error
	buf []byte // scratch for one record
}

func (e *encoder) raw(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

func (e *encoder) value(v any) {
	if e.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.err = err
		return
	}
	_, e.err = e.w.Write(b)
}

func (e *encoder) bytes(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) key(k string) {
	e.buf = append(jsonx.AppendString(e.buf[:0], k), ':')
	e.bytes(e.buf)
}

// appendTestEntry and appendTestHistory write what json.Marshal writes of
// t and h, by hand: a history file holds two such records per test.
func appendTestEntry(b []byte, t *TestEntry) []byte {
	b = append(b, `{"test":`...)
	b = jsonx.AppendString(b, t.Test)
	b = append(b, `,"status":`...)
	b = jsonx.AppendString(b, t.Status)
	b = append(b, `,"dur":`...)
	b = strconv.AppendInt(b, int64(t.Duration), 10)
	if t.CPU != 0 {
		b = append(b, `,"cpu":`...)
		b = strconv.AppendInt(b, int64(t.CPU), 10)
	}
	if t.MaxRSS != 0 {
		b = append(b, `,"rss":`...)
		b = strconv.AppendInt(b, t.MaxRSS, 10)
	}
	return append(b, '}')
}

func appendTestHistory(b []byte, h *TestHistory) []byte {
	b = append(b, `{"dur":`...)
	b = strconv.AppendInt(b, int64(h.Duration), 10)
	if h.CPU != 0 {
		b = append(b, `,"cpu":`...)
		b = strconv.AppendInt(b, int64(h.CPU), 10)
	}
	if h.MaxRSS != 0 {
		b = append(b, `,"rss":`...)
		b = strconv.AppendInt(b, h.MaxRSS, 10)
	}
	b = append(b, `,"status":`...)
	b = jsonx.AppendString(b, h.LastStatus)
	if h.PassStreak != 0 {
		b = append(b, `,"pass_streak":`...)
		b = strconv.AppendInt(b, int64(h.PassStreak), 10)
	}
	if h.FailStreak != 0 {
		b = append(b, `,"fail_streak":`...)
		b = strconv.AppendInt(b, int64(h.FailStreak), 10)
	}
	b = append(b, `,"runs":`...)
	b = strconv.AppendInt(b, int64(h.Runs), 10)
	b = append(b, `,"seen":`...)
	b = strconv.AppendInt(b, h.LastSeen, 10)
	b = append(b, `,"time":"`...) // a year within 0-9999 (encodeState checks)
	b = h.LastRun.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = append(b, `,"recent":`...)
	b = jsonx.AppendString(b, h.Recent)
	if h.Parallel != 0 {
		b = append(b, `,"parallel":`...)
		b = strconv.AppendInt(b, int64(h.Parallel), 10)
	}
	return append(b, '}')
}

func (e *encoder) sep(i int) {
	if i > 0 {
		e.raw(",")
	}
}
