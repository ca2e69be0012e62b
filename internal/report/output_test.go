package report

import (
	"testing"

	"github.com/volley-test/volley/internal/event"
)

func TestTestOutputReadsGoFraming(t *testing.T) {
	const seg = "\x16=== RUN   TestA\n" +
		"    a_test.go:3: setting up\n" +
		"\x16=== NAME  TestC\n" +
		"    c_test.go:9: parallel chatter\n" +
		"\x16=== NAME  TestA\n" +
		"    a_test.go:5: got 1, want 2\n" +
		"\x16    --- FAIL: TestA/sub (0.00s)\n" +
		"\x16--- FAIL: TestA (0.00s)\n" +
		"\x16=== CONT  TestB\n"
	for _, c := range []struct {
		name string
		r    event.Result
		want string
	}{
		{"failed test: its own lines only", event.Result{Test: "TestA", Status: event.Fail, Output: []byte(seg)},
			"    a_test.go:3: setting up\n    a_test.go:5: got 1, want 2\n--- FAIL: TestA/sub (0.00s)\n--- FAIL: TestA (0.00s)\n"},
		{"crash: every line, framing dropped", event.Result{Test: "TestA", Status: event.Crash, Output: []byte(seg + "panic: boom\n")},
			"    a_test.go:3: setting up\n    c_test.go:9: parallel chatter\n    a_test.go:5: got 1, want 2\n--- FAIL: TestA/sub (0.00s)\n--- FAIL: TestA (0.00s)\npanic: boom\n"},
		{"example: got/want after its FAIL line", event.Result{Test: "ExampleX", Status: event.Fail,
			Output: []byte("\x16=== RUN   ExampleX\n\x16--- FAIL: ExampleX (0.00s)\ngot:\nfive\nwant:\n4\n\x16=== RUN   ExampleY\n")},
			"--- FAIL: ExampleX (0.00s)\ngot:\nfive\nwant:\n4\n"},
		{"unframed output unchanged", event.Result{Test: "t", Status: event.Fail, Output: []byte("=== RUN x\nplain\n")},
			"=== RUN x\nplain\n"},
	} {
		if got := string(testOutput(&c.r)); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
