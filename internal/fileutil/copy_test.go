package fileutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCopy(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("older and longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Copy(a, b); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(b); string(got) != "data\n" {
		t.Errorf("copy holds %q", got)
	}
	if err := CopyIfExists(filepath.Join(dir, "missing"), b); err != nil {
		t.Errorf("missing source: %v", err)
	}
	if err := Copy(filepath.Join(dir, "missing"), b); err == nil {
		t.Error("Copy of a missing file succeeded")
	}
}
