package cache

import (
	"fmt"
	"os"
	"path/filepath"
)

// LockDir takes the state directory's writer lock, the one Save holds,
// creating dir when needed, and returns the function that releases it.
// Other files of the state directory (the quarantine list) are rewritten
// under it, so that concurrent volleys never lose each other's changes.
func LockDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return lock(filepath.Join(dir, lockName))
}
