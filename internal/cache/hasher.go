package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// recent is how old a file's last change must be before its hash is
// memoized: a file written twice within one timestamp tick could otherwise
// keep a stale hash (the same guard cmd/go uses).
const recent = 2 * time.Second

// Hasher hashes file contents, memoizing each hash under the file's
// identity: path, size, mtime, ctime, inode and device. A rewrite that keeps
// the size and restores the mtime still changes the ctime, which cannot be
// set back, so it is noticed. What is not noticed, by design, is a content
// change that leaves all of these equal (a clock set backwards, a filesystem
// without ctime or inode numbers): re-reading every file on every run is the
// price of catching that, and volley does not pay it. Files changed less
// than two seconds ago are hashed but not memoized.
//
// The Hasher of a Store (Store.Hasher) persists its memo with the store, so
// an unchanged tree is not re-read across runs. A Hasher is safe for
// concurrent use.
type Hasher struct {
	mu     sync.Mutex
	memo   map[string]*memo // loaded or computed
	used   map[string]*memo // validated or computed since the last save
	recent time.Duration
	now    func() time.Time
	reads  int // files read, for tests
	// byID remembers, within this process, hashes by file identity alone,
	// so many paths (symlinks, hard links) to one file are read once.
	byID map[fileID]string
}

// memo is a file's remembered hash and the identity it was computed for.
type memo struct {
	fileID
	Sum  string `json:"sum"`
	Seen int64  `json:"seen"` // the run that last used it
}

// fileID is what must be unchanged for a memoized hash to be trusted.
type fileID struct {
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"` // unix ns
	Ctime int64  `json:"ctime,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
	Dev   uint64 `json:"dev,omitempty"`
}

// NewHasher returns a Hasher with an empty memo, not tied to a store.
func NewHasher() *Hasher { return newHasher(nil) }

func newHasher(m map[string]*memo) *Hasher {
	if m == nil {
		m = map[string]*memo{}
	}
	return &Hasher{memo: m, used: map[string]*memo{}, recent: recent, now: time.Now, byID: map[fileID]string{}}
}

// File returns the hex sha256 of a regular file's content.
func (h *Hasher) File(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file", path)
	}
	id := idOf(fi)
	h.mu.Lock()
	if m, ok := h.memo[path]; ok && m.fileID == id {
		h.used[path] = m
		h.mu.Unlock()
		return m.Sum, nil
	}
	if sum, ok := h.byID[id]; ok && id.Ino != 0 {
		h.mu.Unlock()
		return sum, nil
	}
	h.reads++
	h.mu.Unlock()

	sum, err := hashFile(path)
	if err != nil {
		return "", err
	}
	// Memoize only if the file did not change while it was read and its
	// last change is old enough for timestamps to tell the next one apart.
	if after, err := os.Stat(path); err == nil && idOf(after) == id {
		changed := max(id.Mtime, id.Ctime)
		if h.now().UnixNano()-changed >= int64(h.recent) {
			m := &memo{fileID: id, Sum: sum}
			h.mu.Lock()
			h.byID[id] = sum
			h.memo[path] = m
			h.used[path] = m
			h.mu.Unlock()
		}
	}
	return sum, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Input returns the digest of a declared input: a file's content hash, a
// directory's digest over the names and content of everything below it, or
// a fixed digest meaning "missing".
func (h *Hasher) Input(path string) (string, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return missing, nil
	case err != nil:
		return "", err
	case fi.Mode().IsRegular():
		return h.File(path)
	case !fi.IsDir():
		return digest("special", fi.Mode().Type().String()), nil
	}
	ss := []string{"dir"}
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(path, p)
		sum := missing // a dangling symlink
		if fi, err := os.Stat(p); err == nil {
			if fi.Mode().IsRegular() {
				if sum, err = h.File(p); err != nil {
					return err
				}
			} else {
				sum = digest("special", fi.Mode().Type().String())
			}
		}
		ss = append(ss, filepath.ToSlash(rel), sum)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash input %s: %w", path, err)
	}
	return digest(ss...), nil
}

// takeUsed returns the memo entries used since the last call and forgets
// them.
func (h *Hasher) takeUsed() map[string]*memo {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.used
	h.used = map[string]*memo{}
	return u
}

// snapshot is a copy of the memo, to be saved with the store.
func (h *Hasher) snapshot() map[string]*memo {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[string]*memo, len(h.memo))
	for p, v := range h.memo {
		m[p] = v
	}
	return m
}
