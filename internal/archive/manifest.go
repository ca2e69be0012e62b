package archive

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ManifestName is the first entry of an archive: what it holds.
const ManifestName = "volley-archive.json"

// Version is the manifest version this package writes and reads.
const Version = 1

// Manifest describes an archive. Every path is slash-separated and relative
// to the config's directory, which becomes the extraction root.
type Manifest struct {
	Version int       `json:"version"`
	Volley  string    `json:"volley"`
	Created time.Time `json:"created"`
	Config  string    `json:"config"` // the volley.toml
	Suites  []string  `json:"suites"` // suite executables
	Files   []File    `json:"files"`  // everything stored, the config and suites included
	Dirs    []string  `json:"dirs,omitempty"`
}

// File is one stored file.
type File struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	SHA256 string      `json:"sha256"`
	// Link names an earlier file of the same content (the same file on
	// disk, e.g. several symlinks to one executable), stored once.
	Link string `json:"link,omitempty"`
}

// localName checks that name is a clean, relative, slash-separated path
// that stays inside the extraction root.
func localName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("an empty name")
	case strings.HasPrefix(name, "/") || filepath.IsAbs(filepath.FromSlash(name)):
		return fmt.Errorf("%q is an absolute path", name)
	case strings.Contains(name, `\`):
		return fmt.Errorf("%q has a backslash", name)
	case path.Clean(name) != name:
		return fmt.Errorf("%q is not a clean path", name)
	case !filepath.IsLocal(filepath.FromSlash(name)):
		return fmt.Errorf("%q escapes the extraction directory", name)
	}
	return nil
}

// check validates the manifest on its own: names, links, duplicates and
// modes. It returns the files by path.
func (m *Manifest) check() (map[string]File, error) {
	if m.Version != Version {
		return nil, fmt.Errorf("archive version %d, this volley reads %d", m.Version, Version)
	}
	files := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		if err := localName(f.Path); err != nil {
			return nil, fmt.Errorf("manifest: file %v", err)
		}
		if _, dup := files[f.Path]; dup {
			return nil, fmt.Errorf("manifest: %s is listed twice", f.Path)
		}
		if f.Mode&^fs.ModePerm != 0 || f.Mode&0o7000 != 0 {
			return nil, fmt.Errorf("manifest: %s has mode %#o; only permission bits are allowed", f.Path, uint32(f.Mode))
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("manifest: %s has size %d", f.Path, f.Size)
		}
		if f.Link != "" {
			if err := localName(f.Link); err != nil {
				return nil, fmt.Errorf("manifest: the link of %s: %v", f.Path, err)
			}
			to, ok := files[f.Link]
			if !ok || to.Link != "" {
				return nil, fmt.Errorf("manifest: %s links to %s, which is not a file stored before it", f.Path, f.Link)
			}
		}
		files[f.Path] = f
	}
	dirs := map[string]bool{}
	for _, d := range m.Dirs {
		if err := localName(d); err != nil {
			return nil, fmt.Errorf("manifest: directory %v", err)
		}
		if _, isFile := files[d]; isFile || dirs[d] {
			return nil, fmt.Errorf("manifest: %s is listed twice", d)
		}
		dirs[d] = true
	}
	// A file cannot also be the directory of another entry.
	for name := range files {
		for _, parent := range parents(name) {
			if _, isFile := files[parent]; isFile {
				return nil, fmt.Errorf("manifest: %s is a file and the directory of %s", parent, name)
			}
		}
	}
	for d := range dirs {
		for _, parent := range parents(d) {
			if _, isFile := files[parent]; isFile {
				return nil, fmt.Errorf("manifest: %s is a file and the directory of %s", parent, d)
			}
		}
	}
	if _, ok := files[m.Config]; !ok {
		return nil, fmt.Errorf("manifest: the config %q is not among the stored files", m.Config)
	}
	for _, s := range m.Suites {
		if _, ok := files[s]; !ok {
			return nil, fmt.Errorf("manifest: suite %q is not among the stored files", s)
		}
	}
	return files, nil
}

// parents lists the directories above a slash path: "a/b/c" -> a, a/b.
func parents(name string) []string {
	var out []string
	for i := range len(name) {
		if name[i] == '/' {
			out = append(out, name[:i])
		}
	}
	return out
}
