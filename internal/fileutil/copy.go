// Package fileutil holds the small file operations several of volley's
// packages share.
package fileutil

import (
	"io"
	"os"
)

// Copy copies the file from to the file to, creating or truncating it.
func Copy(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// CopyIfExists is Copy, except that a missing from is no error.
func CopyIfExists(from, to string) error {
	if _, err := os.Stat(from); os.IsNotExist(err) {
		return nil
	}
	return Copy(from, to)
}
