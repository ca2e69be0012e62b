package cache

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// The state file written a test at a time is byte for byte what
// json.Marshal makes of the state, so files of older volleys and of
// `history export` read the same.
func TestEncodeStateIsMarshal(t *testing.T) {
	st := newState()
	for i, suite := range []string{"zeta", "alpha", `we"ird/<suite>`, "empty"} {
		op := record{suite: suite, key: keyA, time: time.Unix(1700000000+int64(i), 5)}
		if suite != "empty" {
			for _, test := range []string{"b", "a", "", "ü::x"} {
				op.tests = append(op.tests, OutcomeOf(&event.Result{Test: test, Status: event.Pass, Duration: time.Duration(i+1) * time.Millisecond, MaxRSS: 42}))
			}
			op.tests = append(op.tests, OutcomeOf(&event.Result{Test: "f", Status: event.Fail}))
		}
		op.apply(st, int64(i+1))
	}
	st.Suites["nil-tests"] = &SuiteEntry{Key: keyB}
	st.Files["/bin/x"] = &memo{Sum: "abc", Seen: 3}
	st.Run = 4

	want, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := encodeState(&got, st); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("encodeState differs from json.Marshal:\n got %s\nwant %s", got.Bytes(), want)
	}
}
