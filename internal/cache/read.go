package cache

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxStateSize bounds what is read of a state file: far above the history
// of a million tests, far below what a link to /dev/zero would feed.
const MaxStateSize = 1 << 30

// ErrTooBig is returned by ReadBounded for a file over its limit.
var ErrTooBig = errors.New("larger than volley reads")

// NotRegularError is returned by ReadBounded for a path that is not a
// regular file (a FIFO, a device, a directory).
type NotRegularError struct {
	Path string
	Mode os.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is not a regular file (%s)", e.Path, e.Mode.Type())
}

// ReadBounded reads a state file: only a regular file (following links),
// opened without blocking (a FIFO would wait for a writer forever), and at
// most limit bytes.
func ReadBounded(path string, limit int64) ([]byte, error) {
	data, _, err := readStamped(path, limit)
	return data, err
}

// stamp identifies one version of a file: a writer that replaces it
// (rename) or rewrites it changes it.
type stamp struct {
	size, mtime int64
	ino, dev    uint64
}

func stampOf(fi os.FileInfo) stamp {
	st := stamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino, st.dev = uint64(sys.Ino), uint64(sys.Dev)
	}
	return st
}

// readStamped is ReadBounded, also returning the stamp of what it read.
func readStamped(path string, limit int64) ([]byte, stamp, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, stamp{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, stamp{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, stamp{}, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	if fi.Size() > limit {
		return nil, stamp{}, fmt.Errorf("%s: %d bytes: %w (%d)", path, fi.Size(), ErrTooBig, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, stamp{}, err
	}
	if int64(len(data)) > limit {
		return nil, stamp{}, fmt.Errorf("%s: %w (%d bytes)", path, ErrTooBig, limit)
	}
	return data, stampOf(fi), nil
}
