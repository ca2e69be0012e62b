package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// randomState is a state of the shape volley writes, with awkward names.
func randomState(rng *rand.Rand, suites, tests int) *state {
	names := []string{"plain", "t/x.t", `q"uote`, "tab\there", "é∕ü", "a<b>&c", "TestFoo/sub#01", "", "\u2028", "ctl\x01"}
	name := func(i int) string { return names[rng.IntN(len(names))] + fmt.Sprint(i) }
	at := time.Date(2026, 12, 3, 11, 0, 0, rng.IntN(1e9), time.UTC)
	st := newState()
	st.Run = rng.Int64N(1000)
	for s := range suites {
		sn := name(s)
		e := &SuiteEntry{Suite: sn, Key: Key{Sum: "abc", Parts: map[string]string{"exe": "e1", "env:X": "x"}}, Run: rng.Int64N(100), Time: at}
		hs := map[string]*TestHistory{}
		for t := range tests {
			tn := name(t)
			e.Tests = append(e.Tests, TestEntry{Test: tn, Status: []string{"PASS", "FAIL", "SKIP"}[rng.IntN(3)],
				Duration: time.Duration(rng.Int64N(1e10)), CPU: time.Duration(rng.Int64N(1e9)), MaxRSS: rng.Int64N(1e8)})
			hs[tn] = &TestHistory{Duration: time.Duration(rng.Int64N(1e10)), CPU: time.Duration(rng.Int64N(3)), MaxRSS: rng.Int64N(2),
				LastStatus: "PASS", PassStreak: rng.IntN(3), FailStreak: rng.IntN(2), Runs: rng.IntN(40), LastSeen: rng.Int64N(50),
				LastRun: at.Add(time.Duration(t) * time.Millisecond), Recent: "PPFPS"[:rng.IntN(6)], Parallel: rng.IntN(4)}
		}
		st.Suites[sn] = e
		st.History[sn] = hs
	}
	st.Files["/bin/x"] = &memo{fileID: fileID{Size: 10, Mtime: 5, Ino: 7}, Sum: "s", Seen: 3}
	return st
}

// decodeState gives json.Unmarshal's result on everything: files volley
// writes, and the same files damaged at random (a byte changed, removed or
// doubled, a cut: 3,750 copies), where either both refuse or both agree.
func TestDecodeStateAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var files [][]byte
	for i := range 20 {
		var b bytes.Buffer
		if err := encodeState(&b, randomState(rng, 1+i%3, i%7*2)); err != nil {
			t.Fatal(err)
		}
		files = append(files, b.Bytes())
	}
	// Hand-written variations encoding/json reads its own way.
	files = append(files, []byte(`{"version":1,"Run":3,"suites":{"a":{"tests":[null,{"test":"x","DUR":5}]},"a":{"run":2}},"history":{"a":{"t":null}},"files":null}`),
		[]byte(`{"version":1,"run":3,"suites":null,"history":{"a":{"t":{"dur":1.5}}}}`),
		[]byte(` {"version":1,"extra":[1,{"x":"y"}],"run":-0} `),
		[]byte(`{"version":1,"run":01}`),
		[]byte(`{"version":1,"suites":{"s":{"tests":[{"test":"bad\xffutf8"}]}}}`),
		[]byte(`{"suites":{"s":{"tests":[{"test":"a","status":"PASS","dur":5,"cpu":7}],"tests":[{"test":"b","dur":1}]}}}`),
		[]byte(`{"suites":{"s":{"tests":[{"test":"a"},{"test":"b"}],"tests":[null]}}}`))
	check := func(data []byte) {
		t.Helper()
		got, gotErr := decodeState(data)
		want := new(state)
		wantErr := json.Unmarshal(data, want)
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%q: decodeState error %v, json.Unmarshal error %v", clip(data), gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decodeState and json.Unmarshal differ:\n%+v\n%+v", clip(data), got, want)
		}
	}
	for _, f := range files {
		check(f)
		for range 150 {
			d := append([]byte(nil), f...)
			i := rng.IntN(len(d))
			switch rng.IntN(4) {
			case 0:
				d[i] = `{}[]",:0123456789-.e nultrsfa\x01`[rng.IntN(31)]
			case 1:
				d = append(d[:i], d[i+1:]...)
			case 2:
				d = append(d[:i+1], d[i:]...)
			default:
				d = d[:i]
			}
			check(d)
		}
	}
}

func clip(b []byte) string {
	s := string(b)
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// BenchmarkDecodeState: a history of 50,000 tests in 35 suites.
func BenchmarkDecodeState(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	var buf bytes.Buffer
	if err := encodeState(&buf, randomState(rng, 35, 1500)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for range b.N {
		if _, err := decodeState(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
