package remote

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
)

// digestKey identifies a blob: "hash/size".
type digestKey string

func keyOf(d *repb.Digest) digestKey {
	return digestKey(fmt.Sprintf("%s/%d", d.GetHash(), d.GetSizeBytes()))
}

// digestBytes is the SHA-256 digest of b.
func digestBytes(b []byte) *repb.Digest {
	sum := sha256.Sum256(b)
	return &repb.Digest{Hash: hex.EncodeToString(sum[:]), SizeBytes: int64(len(b))}
}

// marshal encodes m deterministically, as digests of protos require.
func marshal(m proto.Message) ([]byte, error) {
	return proto.MarshalOptions{Deterministic: true}.Marshal(m)
}

// blob is content to upload: bytes in memory or a local file read on demand.
type blob struct {
	digest *repb.Digest
	data   []byte // nil when path is set
	path   string
}

func (b blob) open() (io.ReadCloser, error) {
	if b.path == "" {
		return io.NopCloser(bytes.NewReader(b.data)), nil
	}
	return os.Open(b.path)
}

func (b blob) bytes() ([]byte, error) {
	if b.path == "" {
		return b.data, nil
	}
	data, err := os.ReadFile(b.path)
	if err != nil {
		return nil, err
	}
	if d := digestBytes(data); keyOf(d) != keyOf(b.digest) {
		return nil, fmt.Errorf("%s changed while uploading", b.path)
	}
	return data, nil
}

// fileDigests remembers the digest of local files by identity (path, size,
// mtime, mode), so one binary shared by many tests is hashed once.
type fileDigests struct {
	mu sync.Mutex
	m  map[fileID]*repb.Digest
}

type fileID struct {
	path  string
	size  int64
	mtime time.Time
	mode  os.FileMode
}

func (f *fileDigests) digest(path string, fi os.FileInfo) (*repb.Digest, error) {
	id := fileID{path, fi.Size(), fi.ModTime(), fi.Mode()}
	f.mu.Lock()
	d, ok := f.m[id]
	f.mu.Unlock()
	if ok {
		return d, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	h := sha256.New()
	n, err := io.Copy(h, file)
	if err != nil {
		return nil, err
	}
	d = &repb.Digest{Hash: hex.EncodeToString(h.Sum(nil)), SizeBytes: n}
	f.mu.Lock()
	if f.m == nil {
		f.m = make(map[fileID]*repb.Digest)
	}
	f.m[id] = d
	f.mu.Unlock()
	return d, nil
}
