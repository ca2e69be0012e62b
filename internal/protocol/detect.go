package protocol

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// Detect picks the protocol of an executable from its contents without
// running it: a binary that contains the tml result marker speaks tml;
// anything else is a plain exec test.
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
	found, err := contains(f, []byte(TMLResultPrefix))
	if err != nil {
		return "", err
	}
	if found {
		return "tml", nil
	}
	return "exec", nil
}

// contains scans r for any of the markers, in bounded memory.
func contains(r io.Reader, marker []byte) (bool, error) {
	buf := make([]byte, 256<<10)
	keep := len(marker) - 1
	n := 0
	for {
		m, err := r.Read(buf[n:])
		n += m
		if bytes.Contains(buf[:n], marker) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if n > keep {
			copy(buf, buf[n-keep:n])
			n = keep
		}
	}
}
