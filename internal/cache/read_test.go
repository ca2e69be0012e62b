package cache

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// A history file that is a link to /dev/zero, a FIFO or a directory is
// not read (it would grow volley without bound, block forever, or fail):
// a warning, and the store starts anew and can be saved.
func TestOpenOddStateFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
	}{
		{"link-to-dev-zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, fileName)
			if err := tc.make(path); err != nil {
				t.Skipf("cannot make it here: %v", err)
			}
			s, warns, err := Open(dir)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(warns) != 1 || !strings.Contains(warns[0], "not a regular file") {
				t.Fatalf("warnings %q, want one saying it is not a regular file", warns)
			}
			s.Record("s", keyA, []*event.Result{res("t", event.Pass, time.Second)})
			err = s.Save()
			if tc.name == "directory" {
				if err == nil {
					t.Fatal("saved over a directory")
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("after Save the history is %v (%v), want a regular file", fi.Mode(), err)
			}
		})
	}
}

func TestReadBoundedLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBounded(p, 9); err == nil || !strings.Contains(err.Error(), ErrTooBig.Error()) {
		t.Fatalf("10 bytes read with a limit of 9: %v", err)
	}
	if b, err := ReadBounded(p, 10); err != nil || string(b) != "0123456789" {
		t.Fatalf("ReadBounded = %q, %v", b, err)
	}
}

// A lock held by another holder is waited for with one message naming the
// holder, and given up after LockPatience with an error saying what to do.
func TestLockHeldElsewhere(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, lockName)
	unlock, err := lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	var notices []string
	oldNotice, oldPatience := lockNotice, LockPatience
	lockNotice = func(m string) { notices = append(notices, m) }
	LockPatience = 300 * time.Millisecond
	defer func() { lockNotice, LockPatience = oldNotice, oldPatience }()
	// flock locks belong to the open file: a second open of the same file
	// in this process is another holder.
	_, err = lock(path)
	if err == nil {
		t.Fatal("took a lock held elsewhere")
	}
	if !strings.Contains(err.Error(), "still held") || !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("error %q does not say the lock is held and what to do", err)
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "waiting for") || !strings.Contains(notices[0], "process ") {
		t.Errorf("notices %q, want one naming the holding process", notices)
	}
}
