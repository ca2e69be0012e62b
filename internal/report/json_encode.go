package report

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/volley-test/volley/internal/jsonx"
)

// The event log writes a handful of lines per test; encoding them with
// encoding/json's reflection was most of volley's own CPU on suites of
// many short tests. appendEvent and appendResult write the same bytes as
// json.Marshal (TestJSONEncodeMatchesMarshal checks it), by hand.

// appendEvent appends ev's JSON encoding, as json.Marshal writes it.
func appendEvent(b []byte, ev *jsonEvent) []byte {
	b = append(b, '{')
	if !ev.Time.IsZero() {
		b = append(b, `"Time":"`...)
		b = ev.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `",`...)
	}
	b = append(b, `"Action":`...)
	b = jsonx.AppendString(b, ev.Action)
	if ev.Package != "" {
		b = append(b, `,"Package":`...)
		b = jsonx.AppendString(b, ev.Package)
	}
	if ev.Test != "" {
		b = append(b, `,"Test":`...)
		b = jsonx.AppendString(b, ev.Test)
	}
	if ev.Elapsed != nil {
		b = append(b, `,"Elapsed":`...)
		b = appendFloat(b, *ev.Elapsed)
	}
	if ev.Output != "" {
		b = append(b, `,"Output":`...)
		b = jsonx.AppendString(b, ev.Output)
	}
	if len(ev.Volley) > 0 {
		b = append(b, `,"Volley":`...)
		b = append(b, ev.Volley...)
	}
	return append(b, '}')
}

// appendResult appends v's JSON encoding, as json.Marshal writes it.
func appendResult(b []byte, v *jsonResult) []byte {
	b = append(b, '{')
	if v.Test != "" {
		b = append(b, `"test":`...)
		b = jsonx.AppendString(b, v.Test)
		b = append(b, ',')
	}
	b = append(b, `"attempt":`...)
	b = strconv.AppendInt(b, int64(v.Attempt), 10)
	b = append(b, `,"status":`...)
	b = jsonx.AppendString(b, v.Status)
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = jsonx.AppendString(b, v.Reason)
	}
	b = append(b, `,"exit_code":`...)
	b = strconv.AppendInt(b, int64(v.ExitCode), 10)
	if v.Signal != "" {
		b = append(b, `,"signal":`...)
		b = jsonx.AppendString(b, v.Signal)
	}
	b = append(b, `,"cpu_ms":`...)
	b = strconv.AppendInt(b, v.CPUMs, 10)
	b = append(b, `,"rss_kb":`...)
	b = strconv.AppendInt(b, v.RSSKB, 10)
	b = append(b, `,"slot":`...)
	b = strconv.AppendInt(b, int64(v.Slot), 10)
	b = append(b, `,"proc":`...)
	b = strconv.AppendInt(b, int64(v.Proc), 10)
	if v.PID != 0 {
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(v.PID), 10)
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, v.Cached)
	if v.Truncated != 0 {
		b = append(b, `,"output_dropped":`...)
		b = strconv.AppendInt(b, v.Truncated, 10)
	}
	if v.Retrying {
		b = append(b, `,"retrying":true`...)
	}
	if v.Flaky {
		b = append(b, `,"flaky":true`...)
	}
	if v.Quarantined {
		b = append(b, `,"quarantined":true`...)
	}
	if len(v.Leaked) > 0 {
		b = append(b, `,"leaked":[`...)
		for i, l := range v.Leaked {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonx.AppendString(b, l)
		}
		b = append(b, ']')
	}
	if v.Diagnostics != "" {
		b = append(b, `,"diagnostics":`...)
		b = jsonx.AppendString(b, v.Diagnostics)
	}
	return append(b, '}')
}

// appendFloat appends f as encoding/json writes a float64.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) { // never a duration; JSON has no such number
		return append(b, '0')
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		m, _ := json.Marshal(f)
		return append(b, m...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
