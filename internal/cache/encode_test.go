package cache

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
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
	checkEncodeIsMarshal(t, st)
}

// Random states too: names with every kind of escape, optional fields
// set and not.
func TestEncodeStateIsMarshalRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 30 {
		checkEncodeIsMarshal(t, randomState(rng, 1+i%5, i*2))
	}
}

func checkEncodeIsMarshal(t *testing.T, st *state) {
	t.Helper()
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

// Save without reading the file again (nobody saved since Open) writes
// what Save after another writer's identical rewrite (read again, ops
// replayed) writes.

func TestSaveReusesWhatItRead(t *testing.T) {
	base := t.TempDir()
	s := open(t, base)
	s.Record("s", keyA, []*event.Result{res("t1", event.Pass, time.Second), res("t2", event.Fail, time.Second)})
	s.Record("other", keyB, []*event.Result{res("x", event.Pass, time.Millisecond)})
	save(t, s)

	run := func(rewrite bool) []byte {
		dir := t.TempDir()
		b, err := os.ReadFile(filepath.Join(base, fileName))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fileName), b, 0o644); err != nil {
			t.Fatal(err)
		}
		s := open(t, dir)
		s.Record("s", keyA, []*event.Result{res("t1", event.Pass, 2*time.Second), res("t2", event.Pass, time.Second), res("t3", event.Skip, 0)})
		if _, err := s.Hasher().File(filepath.Join(dir, fileName)); err != nil {
			t.Fatal(err)
		}
		if rewrite { // another volley saved the same history meanwhile
			tmp := filepath.Join(dir, "other")
			if err := os.WriteFile(tmp, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, fileName)); err != nil {
				t.Fatal(err)
			}
		}
		save(t, s)
		out, err := os.ReadFile(filepath.Join(dir, fileName))
		if err != nil {
			t.Fatal(err)
		}
		// Times and paths differ between the two directories, nothing else.
		out = regexp.MustCompile(`"time":"[^"]*"`).ReplaceAll(out, []byte(`"time":""`))
		out = regexp.MustCompile(`"files":\{.*\}\}$`).ReplaceAll(bytes.TrimSpace(out), []byte(`"files":{}}`))
		return out
	}
	reused, reread := run(false), run(true)
	if !bytes.Equal(reused, reread) {
		t.Fatalf("saving what was read differs from reading again:\n reused %s\n reread %s", reused, reread)
	}
	if !bytes.Contains(reused, []byte(`"t3"`)) || !bytes.Contains(reused, []byte(`"run":2`)) {
		t.Fatalf("the second save is missing its run: %s", reused)
	}
}
