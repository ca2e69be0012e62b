package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// maxManifest bounds the manifest entry, which is read whole.
const maxManifest = 64 << 20

// Extract unpacks the archive file into root, an existing empty directory,
// and returns its manifest. The archive is read twice: first to check all
// of it (names, links, duplicates, sizes, sha256) without writing anything,
// then to write it through an os.Root, checking it again as it goes. A
// refused archive leaves nothing in root from the first pass; an archive
// that changes between the passes may leave files inside root, never
// outside it, and is refused.
func Extract(file, root string) (*Manifest, error) {
	m, raw, err := readFile(file, nil)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	_, raw2, err := readFile(file, r)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(raw, raw2) {
		return nil, errors.New("the archive changed while it was extracted")
	}
	return m, nil
}

// readFile opens file and reads the archive in it; see read.
func readFile(file string, root *os.Root) (*Manifest, []byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return read(f, root)
}

// read reads an archive from r and checks every entry against the
// manifest. With a root it also writes the entries there. It returns the
// manifest and its bytes.
func read(r io.Reader, root *os.Root) (*Manifest, []byte, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, nil, fmt.Errorf("not a volley archive (a .tar.gz): %v", err)
	}
	tr := tar.NewReader(gz)
	h, err := tr.Next()
	if err == io.EOF {
		return nil, nil, errors.New("empty archive")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read: %v", err)
	}
	if h.Name != ManifestName || h.Typeflag != tar.TypeReg {
		return nil, nil, fmt.Errorf("not a volley archive: the first entry is %s, not %s", h.Name, ManifestName)
	}
	raw, err := io.ReadAll(io.LimitReader(tr, maxManifest+1))
	if err != nil {
		return nil, nil, fmt.Errorf("manifest: %v", err)
	}
	if len(raw) > maxManifest {
		return nil, nil, fmt.Errorf("manifest: larger than %d bytes", maxManifest)
	}
	m := new(Manifest)
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, nil, fmt.Errorf("manifest: %v", err)
	}
	files, err := m.check()
	if err != nil {
		return nil, nil, err
	}
	dirs := map[string]bool{}
	for _, d := range m.Dirs {
		dirs[d] = true
	}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read: %v", err)
		}
		name := h.Name
		if h.Typeflag == tar.TypeDir {
			name = strings.TrimSuffix(name, "/")
		}
		if err := localName(name); err != nil {
			return nil, nil, fmt.Errorf("entry %v", err)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("entry %s appears twice", name)
		}
		seen[name] = true
		if err := entry(tr, h, name, files, dirs, root); err != nil {
			return nil, nil, fmt.Errorf("entry %s: %v", name, err)
		}
	}
	for _, f := range m.Files {
		if !seen[f.Path] {
			return nil, nil, fmt.Errorf("%s is in the manifest but not in the archive (truncated?)", f.Path)
		}
	}
	for _, d := range m.Dirs {
		if !seen[d] {
			return nil, nil, fmt.Errorf("directory %s is in the manifest but not in the archive (truncated?)", d)
		}
	}
	return m, raw, nil
}

// entry checks one entry against the manifest, and writes it when root is
// not nil.
func entry(body io.Reader, h *tar.Header, name string, files map[string]File, dirs map[string]bool, root *os.Root) error {
	switch h.Typeflag {
	case tar.TypeDir:
		if !dirs[name] {
			return errors.New("a directory that is not in the manifest")
		}
		if root == nil {
			return nil
		}
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg, tar.TypeLink:
	default:
		return fmt.Errorf("unexpected type %q (only files, hard links to earlier files and directories are extracted)", h.Typeflag)
	}
	f, ok := files[name]
	if !ok {
		return errors.New("not in the manifest")
	}
	if h.Typeflag == tar.TypeLink {
		if f.Link == "" || h.Linkname != f.Link {
			return fmt.Errorf("a link to %q; the manifest says %q", h.Linkname, f.Link)
		}
		if root == nil {
			return nil
		}
		if err := mkParent(root, name); err != nil {
			return err
		}
		return linkOrCopy(root, f.Link, name)
	}
	if f.Link != "" {
		return fmt.Errorf("a file; the manifest says a link to %s", f.Link)
	}
	if h.Size != f.Size {
		return fmt.Errorf("%d bytes, the manifest says %d", h.Size, f.Size)
	}
	var out io.Writer = io.Discard
	var dst *os.File
	if root != nil {
		if err := mkParent(root, name); err != nil {
			return err
		}
		// O_EXCL: a new file, never an existing one or a link's target.
		var err error
		dst, err = root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		out = dst
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, sum), body)
	if dst != nil {
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	switch {
	case err != nil:
		return err
	case n != f.Size:
		return fmt.Errorf("%d bytes, the manifest says %d", n, f.Size)
	case hex.EncodeToString(sum.Sum(nil)) != f.SHA256:
		return errors.New("content does not match the manifest's sha256")
	}
	if root == nil {
		return nil
	}
	return root.Chmod(name, f.Mode.Perm())
}

// mkParent creates the directories above name inside root.
func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// linkOrCopy makes name the same content as the already extracted file
// from, both inside root: a hard link, or a copy where links are not
// possible.
func linkOrCopy(root *os.Root, from, name string) error {
	fi, err := root.Lstat(from)
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("links to %s, not extracted before it", from)
	}
	if err := root.Link(from, name); err == nil {
		return nil
	}
	in, err := root.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return root.Chmod(name, fi.Mode().Perm())
}
