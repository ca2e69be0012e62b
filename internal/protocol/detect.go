package protocol

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Detect picks the protocol of an executable from its contents, without
// running it. The first rule that matches wins:
//
//  1. A Go binary (it carries Go build info) is gotest when it is a test
//     binary (it has testing.MainStart and testing.tRunner), else tml when
//     it contains the tml result marker, else exec. A Go binary is never
//     gtest or libtest: volley itself, and fixtures built from its
//     packages, contain those harnesses' flag names as strings.
//  2. Another binary (ELF, Mach-O, PE) is tml when it contains the tml
//     marker, gtest when it has GoogleTest (--gtest_list_tests, or
//     testing::Test symbols when linked dynamically), libtest when it has
//     Rust's test runner (RUST_TEST_THREADS, --include-ignored), tap when
//     named *.t, else exec.
//  3. A script or any other file is tap when named *.t or *.tap, tml when it
//     contains the tml marker, else exec.
func Detect(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a directory", path)
	}
	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", err
	}
	head = head[:n]
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	found, err := scan(f, detectMarkers)
	if err != nil {
		return "", fmt.Errorf("detect %s: %w", path, err)
	}
	return detect(head, filepath.Ext(path), found), nil
}

// Markers, by index in detectMarkers. The Go test markers are stored
// reversed so that volley's own binary does not contain them and pass for
// a Go test binary.
const (
	mGoBuildInfo = iota
	mGoMainStart
	mGoTRunner
	mTML
	mGTestFlag
	mGTestSymbol
	mRustThreads
	mRustIgnored
	nMarkers
)

var detectMarkers = func() [][]byte {
	m := make([][]byte, nMarkers)
	m[mGoBuildInfo] = []byte("\xff Go buildinf:")
	m[mGoMainStart] = reversed("tratSniaM.gnitset")
	m[mGoTRunner] = reversed("rennuRt.gnitset")
	m[mTML] = []byte(TMLResultPrefix)
	m[mGTestFlag] = []byte("gtest_list_tests")
	m[mGTestSymbol] = []byte("_ZN7testing4Test") // testing::Test, mangled
	m[mRustThreads] = []byte("RUST_TEST_THREADS")
	m[mRustIgnored] = []byte("include-ignored")
	return m
}()

func reversed(s string) []byte {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return b
}

// detect applies Detect's rules to a file's first bytes, its extension and
// the markers found in it.
func detect(head []byte, ext string, found []bool) string {
	tapName := ext == ".t" || ext == ".tap"
	if !isBinaryHeader(head) {
		switch {
		case tapName:
			return "tap"
		case found[mTML]:
			return "tml"
		}
		return "exec"
	}
	if found[mGoBuildInfo] {
		switch {
		case found[mGoMainStart] && found[mGoTRunner]:
			return "gotest"
		case found[mTML]:
			return "tml"
		}
		return "exec"
	}
	switch {
	case found[mTML]:
		return "tml"
	case found[mGTestFlag] || found[mGTestSymbol]:
		return "gtest"
	case found[mRustThreads] || found[mRustIgnored]:
		return "libtest"
	case ext == ".t":
		return "tap"
	}
	return "exec"
}

// isBinaryHeader reports whether a file starting with head is an executable
// binary: ELF, Mach-O (thin or fat) or PE.
func isBinaryHeader(head []byte) bool {
	for _, magic := range [][]byte{
		[]byte("\x7fELF"),
		{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
		{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
		{0xca, 0xfe, 0xba, 0xbe},
		[]byte("MZ"),
	} {
		if bytes.HasPrefix(head, magic) {
			return true
		}
	}
	return false
}

// scan reports which of the markers r contains, reading it in bounded
// memory; it stops early once all are found.
func scan(r io.Reader, markers [][]byte) ([]bool, error) {
	found := make([]bool, len(markers))
	keep := 0
	for _, m := range markers {
		keep = max(keep, len(m)-1)
	}
	buf := make([]byte, 256<<10)
	n, left := 0, len(markers)
	for {
		m, err := r.Read(buf[n:])
		n += m
		for i, mk := range markers {
			if !found[i] && bytes.Contains(buf[:n], mk) {
				found[i] = true
				left--
			}
		}
		if left == 0 || err == io.EOF {
			return found, nil
		}
		if err != nil {
			return found, err
		}
		if n > keep && n > len(buf)/2 {
			copy(buf, buf[n-keep:n])
			n = keep
		}
	}
}
