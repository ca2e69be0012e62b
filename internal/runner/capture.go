package runner

import (
	"os"
	"sync"
)

// Capture holds one process's output in bounded memory. The first memLimit
// bytes stay in memory; past that everything is spilled to a temporary file,
// up to fileLimit bytes; past that only the last tailSize bytes are kept in a
// ring. Offsets are positions in the logical stream, so a test's output is
// the segment between two offsets, whatever was kept of it.
//
// A process that prints line by line writes one short line per pipe read,
// so a write costs no system call: spilled bytes are written to the file a
// spillChunk at a time, and a segment within the last tailSize bytes (a
// test's output, nearly always) is copied from the ring, not read back.
type Capture struct {
	mu        sync.Mutex
	mem       []byte
	file      *os.File
	fileSize  int64  // bytes of the stream's prefix that go to the file
	pend      []byte // the last of those, not yet written to it
	size      int64  // logical stream length
	ring      []byte // after a spill: the last bytes written, next write at ringPos
	ringPos   int
	ringFull  bool
	dir       string
	memLimit  int
	fileLimit int64
	spillErr  error
}

// Capture limits.
const (
	defaultMemLimit  = 256 << 10
	defaultFileLimit = 64 << 20
	tailSize         = 256 << 10
	spillChunk       = 64 << 10
)

// NewCapture returns an empty capture that spills into dir ("" = os.TempDir).
func NewCapture(dir string) *Capture {
	return &Capture{dir: dir, memLimit: defaultMemLimit, fileLimit: defaultFileLimit}
}

// Write appends p. It never fails: when the spill file cannot be written the
// capture degrades to keeping the tail only.
func (c *Capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	if c.ring == nil && len(c.mem)+len(p) <= c.memLimit {
		c.mem = append(c.mem, p...)
		c.size += int64(n)
		return n, nil
	}
	if c.ring == nil {
		c.spill()
	}
	c.size += int64(n)
	c.writeRing(p)
	if c.file != nil && c.spillErr == nil && c.fileSize < c.fileLimit {
		q := p
		if room := c.fileLimit - c.fileSize; int64(len(q)) > room {
			q = q[:room]
		}
		c.fileSize += int64(len(q))
		c.pend = append(c.pend, q...)
		if len(c.pend) >= spillChunk || c.fileSize == c.fileLimit {
			c.flush()
		}
	}
	return n, nil
}

// spill moves what is in memory to a new spill file and starts the ring
// with its tail.
func (c *Capture) spill() {
	c.ring = make([]byte, tailSize)
	c.writeRing(c.mem)
	f, err := os.CreateTemp(c.dir, "volley-out-*")
	if err != nil {
		c.spillErr = err
	} else {
		os.Remove(f.Name()) // unlinked: gone when closed, even if volley is killed
		c.file = f
		c.fileSize = int64(len(c.mem))
		c.pend = append(make([]byte, 0, spillChunk+4<<10), c.mem...)
		c.flush()
	}
	c.mem = nil
}

// flush writes the pending bytes to the spill file.
func (c *Capture) flush() {
	if len(c.pend) == 0 || c.file == nil || c.spillErr != nil {
		return
	}
	n, err := c.file.WriteAt(c.pend, c.fileSize-int64(len(c.pend)))
	if err != nil {
		// What did not reach the file is not in it: the file ends where
		// the write stopped, and only the ring has the rest.
		c.spillErr = err
		c.fileSize -= int64(len(c.pend) - n)
	}
	c.pend = c.pend[:0]
}

func (c *Capture) writeRing(p []byte) {
	if len(p) >= tailSize {
		copy(c.ring, p[len(p)-tailSize:])
		c.ringPos, c.ringFull = 0, true
		return
	}
	n := copy(c.ring[c.ringPos:], p)
	if n < len(p) {
		copy(c.ring, p[n:])
		c.ringFull = true
	}
	c.ringPos = (c.ringPos + len(p)) % tailSize
	if c.ringPos == 0 && len(p) > 0 {
		c.ringFull = true
	}
}

// ringLen is how many of the stream's last bytes the ring holds.
func (c *Capture) ringLen() int64 {
	if c.ringFull {
		return tailSize
	}
	return int64(c.ringPos)
}

// fromRing copies the stream's [from, to) out of the ring; the range must
// lie within its last ringLen bytes.
func (c *Capture) fromRing(from, to int64) []byte {
	data := make([]byte, 0, to-from)
	// Stream offset size-1 is at ring index ringPos-1.
	i := (c.ringPos - int(c.size-from)%tailSize + tailSize) % tailSize
	for n := int(to - from); n > 0; {
		k := min(n, tailSize-i)
		data = append(data, c.ring[i:i+k]...)
		n -= k
		i = 0
	}
	return data
}

// Len is the number of bytes written so far.
func (c *Capture) Len() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// Segment returns the last at most max bytes of the stream's [from, to)
// range that the capture kept, and how many bytes of the range it cannot
// return (cut by max or dropped by the limits).
func (c *Capture) Segment(from, to int64, max int) (data []byte, dropped int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if to > c.size {
		to = c.size
	}
	if from < 0 {
		from = 0
	}
	if from >= to {
		return nil, 0
	}
	want := to - from
	if max > 0 && to-from > int64(max) {
		from = to - int64(max)
	}
	ringStart := c.size - c.ringLen()
	switch {
	case c.ring == nil:
		data = append([]byte(nil), c.mem[from:to]...)
	case from >= ringStart:
		data = c.fromRing(from, to)
	case c.file != nil && to <= c.fileSize:
		if to > c.fileSize-int64(len(c.pend)) {
			c.flush()
		}
		data = make([]byte, to-from)
		n, _ := c.file.ReadAt(data, from)
		data = data[:n]
	default:
		// Only the ring's tail is certain.
		if lo := max64(from, ringStart); lo < to {
			data = c.fromRing(lo, to)
		}
	}
	return data, want - int64(len(data))
}

// Close releases the spill file.
func (c *Capture) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil {
		c.file.Close()
		c.file = nil
	}
	c.mem, c.ring, c.pend = nil, nil, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
