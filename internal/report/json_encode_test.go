package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// The hand-written encoders write exactly json.Marshal's bytes, for plain
// and awkward strings (escapes, HTML characters, control characters,
// non-ASCII, invalid UTF-8, U+2028) and every optional field set or not.
func TestJSONEncodeMatchesMarshal(t *testing.T) {
	strs := []string{"", "plain", `q"uote`, `back\slash`, "<a&b>", "tab\there", "nl\n", "\x00\x1f\x7f",
		"héllo", "∕", "bad\xffutf8", "line\u2028sep\u2029", "emoji 😀", "t/x.t", "TestFoo/sub_1",
		"\b\f\r\v\x1b[31m", "a\x7fb", "\xe2\x80", "\xf0\x9f\x98", "x\xc3", "\ufffd", "\u00e9\u0301", "\x80\xbf", "'single'"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return strs[rng.IntN(len(strs))] }
	for i := range 2000 {
		elapsed := []float64{0, 0.001, 1.5, 123.456, 1e-7, 3e21}[i%6]
		ev := jsonEvent{Action: pick(), Package: pick(), Test: pick(), Output: pick()}
		if i%3 != 0 {
			ev.Time = time.Date(2026, 12, 3, 11, 18, 47, rng.IntN(1e9), time.UTC)
			if i%5 == 0 {
				ev.Time = ev.Time.In(time.FixedZone("X", 3600))
			}
		}
		if i%2 == 0 {
			ev.Elapsed = &elapsed
		}
		v := jsonResult{Test: pick(), Attempt: rng.IntN(3), Status: pick(), Reason: pick(), ExitCode: rng.IntN(3) - 1,
			Signal: pick(), CPUMs: rng.Int64N(1e6), RSSKB: rng.Int64N(1e6), Slot: rng.IntN(4), Proc: rng.IntN(100),
			PID: rng.IntN(3) * 1000, Cached: i%7 == 0, Truncated: int64(i % 4), Retrying: i%5 == 0, Flaky: i%6 == 0,
			Quarantined: i%8 == 0, Diagnostics: pick()}
		if i%4 == 0 {
			v.Leaked = []string{pick(), pick()}
		}
		got := appendResult(nil, &v)
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendResult:\n got %s\nwant %s", got, want)
		}
		if i%2 == 1 {
			ev.Volley = got
		}
		got = appendEvent(nil, &ev)
		want, err = json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("appendEvent:\n got %s\nwant %s", got, want)
		}
	}
}

// BenchmarkJSONResult: the event log's lines for one passing test.
func BenchmarkJSONResult(b *testing.B) {
	j := NewJSON(&bytes.Buffer{}).(*jsonLog)
	e := sampleResultEvent()
	b.ReportAllocs()
	for range b.N {
		j.Event(e)
		j.w.(*bytes.Buffer).Reset()
	}
}

func sampleResultEvent() *event.Event {
	at := time.Date(2026, 12, 3, 11, 18, 47, 181531004, time.UTC)
	r := &event.Result{Suite: "t/parse.t", Test: "parse line 12 of the fixture", Status: event.Pass,
		Start: at.Add(-time.Millisecond), Duration: time.Millisecond, Output: []byte("ok 12 - parse line 12 of the fixture\n"),
		Attempt: 1, Proc: 3, Slot: 1}
	return &event.Event{Kind: event.TestEnd, Time: at, Suite: r.Suite, Test: r.Test, Result: r}
}
