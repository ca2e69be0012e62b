package runner

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"testing"
)

// captureStream is n bytes of recognisable text: byte i is captureStream(n)[i] for all n.
func captureStream(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "line %07d\n", i)
	}
	return b.Bytes()[:n]
}

// captureWrite feeds data to c in pieces of at most chunk bytes.
func captureWrite(t *testing.T, c *Capture, data []byte, chunk int) {
	t.Helper()
	for len(data) > 0 {
		k := min(chunk, len(data))
		n, err := c.Write(data[:k])
		if n != k || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", k, n, err)
		}
		data = data[k:]
	}
}

func TestCaptureInMemory(t *testing.T) {
	c := NewCapture(t.TempDir())
	defer c.Close()
	data := captureStream(1000)
	captureWrite(t, c, data, 7)
	if c.Len() != 1000 {
		t.Fatalf("Len = %d", c.Len())
	}
	if c.file != nil {
		t.Fatalf("spilled at 1000 bytes")
	}
	for _, tt := range []struct {
		from, to    int64
		max         int
		want        []byte
		wantDropped int64
	}{
		{0, 1000, 0, data, 0},
		{100, 200, 0, data[100:200], 0},
		{100, 200, 30, data[170:200], 70},
		{-5, 10, 0, data[:10], 0},
		{990, 5000, 0, data[990:], 0},
		{500, 500, 0, nil, 0},
		{600, 500, 0, nil, 0},
		{2000, 3000, 0, nil, 0},
	} {
		got, dropped := c.Segment(tt.from, tt.to, tt.max)
		if !bytes.Equal(got, tt.want) || dropped != tt.wantDropped {
			t.Errorf("Segment(%d, %d, %d) = %d bytes (dropped %d), want %d bytes (dropped %d)",
				tt.from, tt.to, tt.max, len(got), dropped, len(tt.want), tt.wantDropped)
		}
	}
	// The segment is a copy: later writes do not change it.
	seg, _ := c.Segment(0, 10, 0)
	before := string(seg)
	captureWrite(t, c, []byte("XXXXXXXXXX"), 10)
	if string(seg) != before {
		t.Errorf("a Segment aliases the buffer")
	}
}

func TestCaptureSpill(t *testing.T) {
	dir := t.TempDir()
	c := NewCapture(dir)
	c.memLimit = 100
	defer c.Close()
	data := captureStream(5000)
	captureWrite(t, c, data, 33)
	if c.file == nil {
		t.Fatalf("did not spill past memLimit")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the spill file is visible in %s: %v (it should be unlinked)", dir, ents)
	}
	for _, r := range [][2]int64{{0, 5000}, {0, 50}, {90, 110}, {4000, 5000}, {1234, 4321}} {
		got, dropped := c.Segment(r[0], r[1], 0)
		if !bytes.Equal(got, data[r[0]:r[1]]) || dropped != 0 {
			t.Errorf("Segment(%d, %d) = %q... (dropped %d), want the captureStream's bytes", r[0], r[1], captureClip(got), dropped)
		}
	}
	got, dropped := c.Segment(0, 5000, 64)
	if !bytes.Equal(got, data[5000-64:]) || dropped != 5000-64 {
		t.Errorf("Segment with max 64 = %d bytes, dropped %d", len(got), dropped)
	}
}

func TestCaptureBeyondFileLimitKeepsTail(t *testing.T) {
	c := NewCapture(t.TempDir())
	c.memLimit = 1 << 10
	c.fileLimit = 4 << 10
	defer c.Close()
	n := tailSize + 100<<10
	data := captureStream(n)
	captureWrite(t, c, data, 4000)
	size := int64(n)
	if c.Len() != size {
		t.Fatalf("Len = %d, want %d", c.Len(), size)
	}
	// The head, up to fileLimit, is in the file.
	got, dropped := c.Segment(0, 4<<10, 0)
	if !bytes.Equal(got, data[:4<<10]) || dropped != 0 {
		t.Errorf("head: %d bytes, dropped %d", len(got), dropped)
	}
	// The tail is in the ring.
	got, dropped = c.Segment(size-1000, size, 0)
	if !bytes.Equal(got, data[n-1000:]) || dropped != 0 {
		t.Errorf("tail: %d bytes, dropped %d", len(got), dropped)
	}
	got, dropped = c.Segment(size-int64(tailSize), size, 0)
	if !bytes.Equal(got, data[n-tailSize:]) || dropped != 0 {
		t.Errorf("whole ring: %d bytes, dropped %d", len(got), dropped)
	}
	// A range reaching before the ring keeps what the ring holds and
	// counts the rest as dropped.
	got, dropped = c.Segment(0, size, 0)
	if !bytes.Equal(got, data[n-tailSize:]) || dropped != size-int64(tailSize) {
		t.Errorf("whole captureStream: %d bytes, dropped %d; want the last %d, dropped %d", len(got), dropped, tailSize, size-int64(tailSize))
	}
	// A range entirely lost between the file and the ring.
	mid := int64(50 << 10)
	got, dropped = c.Segment(mid, mid+100, 0)
	if len(got) != 0 || dropped != 100 {
		t.Errorf("lost middle: %d bytes, dropped %d; want 0, 100", len(got), dropped)
	}
	// max bounds what is returned.
	got, dropped = c.Segment(0, size, 500)
	if !bytes.Equal(got, data[n-500:]) || dropped != size-500 {
		t.Errorf("max 500: %d bytes, dropped %d", len(got), dropped)
	}
}

func TestCaptureHugeWrite(t *testing.T) {
	c := NewCapture(t.TempDir())
	c.fileLimit = 1 << 20
	defer c.Close()
	data := captureStream(3 << 20)
	captureWrite(t, c, data, len(data)) // one captureWrite larger than every limit
	size := int64(len(data))
	got, dropped := c.Segment(size-100, size, 0)
	if !bytes.Equal(got, data[len(data)-100:]) || dropped != 0 {
		t.Errorf("tail after one huge captureWrite: %d bytes, dropped %d", len(got), dropped)
	}
	got, _ = c.Segment(0, 100, 0)
	if !bytes.Equal(got, data[:100]) {
		t.Errorf("head after one huge captureWrite: %q", captureClip(got))
	}
}

func TestCaptureSpillFailureKeepsTail(t *testing.T) {
	c := NewCapture("/nonexistent/dir/for/volley/test")
	c.memLimit = 10
	defer c.Close()
	data := captureStream(1000)
	captureWrite(t, c, data, 9)
	got, dropped := c.Segment(900, 1000, 0)
	if !bytes.Equal(got, data[900:]) || dropped != 0 {
		t.Errorf("after a failed spill: %q dropped %d", captureClip(got), dropped)
	}
}

func TestCaptureConcurrent(t *testing.T) {
	c := NewCapture(t.TempDir())
	c.memLimit = 4 << 10
	defer c.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			line := bytes.Repeat([]byte{'a' + byte(g)}, 99)
			line = append(line, '\n')
			for range 500 {
				c.Write(line)
				c.Segment(0, c.Len(), 1000)
			}
		}()
	}
	wg.Wait()
	if c.Len() != 4*500*100 {
		t.Fatalf("Len = %d", c.Len())
	}
	all, _ := c.Segment(0, c.Len(), 0)
	for i := 0; i+100 <= len(all); i += 100 {
		if !bytes.Equal(all[i:i+99], bytes.Repeat(all[i:i+1], 99)) || all[i+99] != '\n' {
			t.Fatalf("writes interleaved at %d: %q", i, all[i:i+100])
		}
	}
}

func TestCaptureClose(t *testing.T) {
	c := NewCapture(t.TempDir())
	c.memLimit = 10
	captureWrite(t, c, captureStream(100), 100)
	c.Close()
	c.Close() // twice is fine
}

func captureClip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// TestCaptureSmallWrites: many small writes past the tail ring's size keep
// every byte in order and the last line whole. How cheap they are (no copy
// of the ring per write) is measured by BenchmarkCaptureSmallWrites, which
// bench/capture.sh checks against its target.
func TestCaptureSmallWrites(t *testing.T) {
	c := NewCapture(t.TempDir())
	defer c.Close()
	line := []byte("fixture output line: the quick brown fox jumps over it\n")
	total := 4 * tailSize
	n := 0
	for ; n < total; n += len(line) {
		c.Write(line)
	}
	if c.Len() != int64(n) {
		t.Errorf("Len = %d, want %d", c.Len(), n)
	}
	got, _ := c.Segment(c.Len()-int64(len(line)), c.Len(), 0)
	if !bytes.Equal(got, line) {
		t.Errorf("last line = %q", got)
	}
}

// BenchmarkCaptureSmallWrites: short lines written one at a time once the
// tail ring is full, as a test that prints line by line produces them
// (each pipe read returns one line). bench/capture.sh runs it.
func BenchmarkCaptureSmallWrites(b *testing.B) {
	c := NewCapture(b.TempDir())
	defer c.Close()
	line := []byte("fixture output line: the quick brown fox jumps over it\n")
	for n := 0; n < 2*tailSize; n += len(line) { // fill the ring first
		c.Write(line)
	}
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for range b.N {
		c.Write(line)
	}
}
