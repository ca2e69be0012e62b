package cache

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"slices"
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
				e.value(&s.Tests[j])
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
			e.value(tests[test])
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

func (e *encoder) key(k string) {
	e.value(k)
	e.raw(":")
}

func (e *encoder) sep(i int) {
	if i > 0 {
		e.raw(",")
	}
}
