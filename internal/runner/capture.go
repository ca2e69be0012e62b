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
type Capture struct {
	mu        sync.Mutex
	mem       []byte
	file      *os.File
	fileSize  int64  // bytes in file (the stream's prefix)
	size      int64  // logical stream length
	ring      []byte // circular: the last bytes written, next write at ringPos
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
	c.size += int64(n)
	c.writeRing(p)
	if c.file == nil && len(c.mem)+len(p) <= c.memLimit {
		c.mem = append(c.mem, p...)
		return n, nil
	}
	if c.file == nil && c.spillErr == nil {
		f, err := os.CreateTemp(c.dir, "volley-out-*")
		if err != nil {
			c.spillErr = err
		} else {
			os.Remove(f.Name()) // unlinked: gone when closed, even if volley is killed
			c.file = f
			if _, err := f.Write(c.mem); err != nil {
				c.spillErr = err
			}
			c.fileSize = int64(len(c.mem))
			c.mem = nil
		}
	}
	if c.file != nil && c.spillErr == nil && c.fileSize < c.fileLimit {
		room := c.fileLimit - c.fileSize
		q := p
		if int64(len(q)) > room {
			q = q[:room]
		}
		m, err := c.file.Write(q)
		c.fileSize += int64(m)
		if err != nil {
			c.spillErr = err
		}
	}
	return n, nil
}

func (c *Capture) writeRing(p []byte) {
	if c.ring == nil {
		c.ring = make([]byte, tailSize)
	}
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

// tail returns the ring's bytes in stream order.
func (c *Capture) tail() []byte {
	if !c.ringFull {
		return c.ring[:c.ringPos]
	}
	return append(append([]byte(nil), c.ring[c.ringPos:]...), c.ring[:c.ringPos]...)
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
	switch {
	case c.file == nil && c.spillErr == nil && int64(len(c.mem)) == c.size:
		data = append([]byte(nil), c.mem[from:to]...)
	case c.file != nil && to <= c.fileSize:
		data = make([]byte, to-from)
		n, _ := c.file.ReadAt(data, from)
		data = data[:n]
	default:
		// Only the ring's tail is certain: [size-len(tail), size).
		t := c.tail()
		ringStart := c.size - int64(len(t))
		lo := max64(from, ringStart)
		if lo < to {
			data = append([]byte(nil), t[lo-ringStart:to-ringStart]...)
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
	c.mem, c.ring = nil, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
