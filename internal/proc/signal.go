package proc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// SignalName names a signal the way people write it: "SIGSEGV".
func SignalName(sig syscall.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return "signal " + sig.String()
}
