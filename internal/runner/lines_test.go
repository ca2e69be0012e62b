package runner

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/volley-test/volley/internal/testenv"
)

// lineChunkReader returns the data in reads of the given sizes, cycling.
type lineChunkReader struct {
	data  []byte
	sizes []int
	i     int
	err   error // returned with the last bytes, like some readers do
}

func (r *lineChunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		return 0, io.EOF
	}
	k := min(r.sizes[r.i%len(r.sizes)], len(p), len(r.data))
	r.i++
	copy(p, r.data[:k])
	r.data = r.data[k:]
	if len(r.data) == 0 && r.err != nil {
		return k, r.err
	}
	return k, nil
}

func collectLines(r io.Reader) (lines []string, sink *bytes.Buffer) {
	sink = &bytes.Buffer{}
	ReadLines(r, sink, func(l []byte) { lines = append(lines, string(l)) })
	return lines, sink
}

func TestReadLines(t *testing.T) {
	input := "first\nsecond line\n\nTML_RESULT:0:PASS:0\r\nlast, unterminated"
	want := []string{"first", "second line", "", "TML_RESULT:0:PASS:0\r", "last, unterminated"}
	readers := map[string]func() io.Reader{
		"whole":      func() io.Reader { return strings.NewReader(input) },
		"one byte":   func() io.Reader { return iotest.OneByteReader(strings.NewReader(input)) },
		"half":       func() io.Reader { return iotest.HalfReader(strings.NewReader(input)) },
		"odd chunks": func() io.Reader { return &lineChunkReader{data: []byte(input), sizes: []int{3, 1, 7, 2}} },
		"data+EOF":   func() io.Reader { return iotest.DataErrReader(strings.NewReader(input)) },
		"error": func() io.Reader {
			return &lineChunkReader{data: []byte(input), sizes: []int{5}, err: errors.New("pipe closed")}
		},
	}
	for name, mk := range readers {
		lines, sink := collectLines(mk())
		if strings.Join(lines, "|") != strings.Join(want, "|") {
			t.Errorf("%s: lines %q, want %q", name, lines, want)
		}
		if sink.String() != input {
			t.Errorf("%s: sink got %q, want the input unchanged", name, sink.String())
		}
	}
}

func TestReadLinesTerminatedLast(t *testing.T) {
	lines, _ := collectLines(strings.NewReader("a\nb\n"))
	if strings.Join(lines, "|") != "a|b" {
		t.Errorf("lines %q: no extra empty line after the final newline", lines)
	}
	lines, _ = collectLines(strings.NewReader(""))
	if len(lines) != 0 {
		t.Errorf("empty input gave lines %q", lines)
	}
}

func TestReadLinesOverlong(t *testing.T) {
	long := strings.Repeat("x", maxLine+5000) + "TML_RESULT:0:PASS:0"
	exact := strings.Repeat("y", maxLine)
	input := long + "\nnext\n" + exact + "\n" + strings.Repeat("z", 3*maxLine)
	for _, sizes := range [][]int{{1 << 20}, {1000}, {maxLine - 1, 3}} {
		lines, sink := collectLines(&lineChunkReader{data: []byte(input), sizes: sizes})
		if len(lines) != 4 {
			t.Fatalf("sizes %v: %d lines, want 4", sizes, len(lines))
		}
		if lines[0] != long[:maxLine] {
			t.Errorf("sizes %v: overlong line not cut to its first %d bytes (got %d bytes)", sizes, maxLine, len(lines[0]))
		}
		if lines[1] != "next" {
			t.Errorf("sizes %v: line after an overlong one = %q", sizes, clipLine(lines[1]))
		}
		if lines[2] != exact {
			t.Errorf("sizes %v: a line of exactly maxLine bytes was altered (%d bytes)", sizes, len(lines[2]))
		}
		if len(lines[3]) != maxLine {
			t.Errorf("sizes %v: unterminated overlong last line is %d bytes, want %d", sizes, len(lines[3]), maxLine)
		}
		if sink.Len() != len(input) {
			t.Errorf("sizes %v: sink got %d bytes, want all %d", sizes, sink.Len(), len(input))
		}
	}
}

// The executor tags each parsed line's outcomes with capture.Len() taken
// inside the line callback, as the offset where the next test's output
// starts. So when line(l) is called the sink must hold exactly the stream up
// to the end of l, newline included: not the rest of the read chunk, which
// belongs to the next test ("running test 3" would otherwise be shown as
// test 2's output, and test 3's own output would lose its first lines).
func TestReadLinesSinkAtLineEnd(t *testing.T) {
	input := "running test 0\nTML_RESULT:0:PASS:0\nrunning test 1\nboom\nTML_RESULT:1:FAIL:1\nrunning test 2\n"
	sink := &bytes.Buffer{}
	var bad []string
	ReadLines(strings.NewReader(input), sink, func(l []byte) {
		end := strings.Index(input, string(l)+"\n") + len(l) + 1
		if sink.Len() != end {
			bad = append(bad, string(l))
		}
	})
	if len(bad) > 0 {
		t.Errorf("when these lines were parsed the sink held %d bytes, past their end: %q; "+
			"outcome offsets then include the next test's output", len(input), bad)
	}
}

func clipLine(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// What is in a pipe when its writer has exited is read to the end, even by
// a reader slower than drainCap (a loaded machine, a race-instrumented
// volley): the cap is for a writer that keeps feeding the pipe.
func TestDrainReadsWhatThePipeHeld(t *testing.T) {
	old := drainCap
	drainCap = 20 * time.Millisecond
	defer func() { drainCap = old }()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	want := bytes.Repeat([]byte("TML_RESULT:1:PASS:0\n"), 3000) // 60 KB, less than a pipe holds
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	w.Close() // the process has exited
	var got bytes.Buffer
	var n atomic.Int64
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 4<<10)
		for {
			k, err := r.Read(buf)
			got.Write(buf[:k])
			n.Add(int64(k))
			if err != nil {
				return
			}
			time.Sleep(40 * time.Millisecond) // slower in all than the cap and drainDelay
		}
	}()
	if drain(drained, n.Load, r) {
		t.Error("drain reported a cut")
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d of the %d bytes the pipe held", got.Len(), len(want))
	}
}

// A writer that goes on feeding the pipe after its process exited is cut
// off once drainCap has passed and more than the pipe holds was read.
func TestDrainCutsAWriterThatGoesOn(t *testing.T) {
	old := drainCap
	drainCap = 50 * time.Millisecond
	defer func() { drainCap = old }()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		line := bytes.Repeat([]byte("x"), 4096)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := w.Write(line); err != nil {
				return
			}
		}
	}()
	var n atomic.Int64
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		buf := make([]byte, 64<<10)
		for {
			k, err := r.Read(buf)
			n.Add(int64(k))
			if err != nil {
				return
			}
		}
	}()
	done := make(chan struct{})
	var cut bool
	go func() { cut = drain(drained, n.Load, r); close(done) }()
	select {
	case <-done:
		if !cut {
			t.Error("drain did not report that it cut the writer off")
		}
	case <-time.After(testenv.Scale(30 * time.Second)):
		t.Fatal("drain did not stop reading a pipe fed forever")
	}
}
