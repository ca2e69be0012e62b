package runner

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// The raw reader reads what a pipe holds, waits for more through the
// poller, ends at EOF and keeps the file's read deadline.
func TestRawReaderPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rr := newRawReader(r)
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(rr)
		done <- b
	}()
	for _, s := range []string{"ok 1\n", "ok 2\n", "not ok 3\n"} {
		if _, err := w.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if got := string(<-done); got != "ok 1\nok 2\nnot ok 3\n" {
		t.Errorf("read %q", got)
	}

	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	defer w2.Close()
	if err := r2.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := newRawReader(r2).Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("past deadline: err = %v, want os.ErrDeadlineExceeded", err)
	}
}
