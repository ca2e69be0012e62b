package runner

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// rawReader reads a non-blocking pipe without telling the Go scheduler
// that a system call is under way: a read of a ready pipe does not block,
// and skipping entersyscall spares a wakeup of the runtime's monitor
// thread per read, which is most of what a line costs when a test prints
// its results one at a time. Waiting for data, and read deadlines, go
// through the runtime's poller as for any os.File.
type rawReader struct {
	rc syscall.RawConn
}

func newRawReader(f *os.File) io.Reader {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	return rawReader{rc}
}

func (r rawReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			r1, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			}
			n, errno = int(r1), e
			return true
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: "pipe", Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
