package archive

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/cache"
	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/discover"
)

// Options say what Create packs.
type Options struct {
	Config  *config.File // the suites to pack; its directory is the archive's root
	Include []string     // globs (relative to the config's directory) of more files to pack
	// History, when set, is a history file to pack, stored at HistoryAt
	// (an absolute path; skipped when it is outside the config's directory).
	History, HistoryAt string
	Volley             string // the version of volley writing the archive
}

// Create packs what o names into the file out and returns its manifest.
// Nothing is left at out when it fails.
func Create(out string, o Options) (*Manifest, error) {
	cfg := o.Config
	if err := checkRelative(cfg); err != nil {
		return nil, err
	}
	found, err := discover.Discover(discover.Request{Config: cfg, Cwd: cfg.Dir})
	if err != nil {
		return nil, err
	}
	p := &packer{root: cfg.Dir, files: map[string]string{}, dirs: map[string]bool{}}
	m := &Manifest{Version: Version, Volley: o.Volley, Created: time.Now().UTC()}
	if m.Config, err = p.rel(cfg.Path, "the config"); err != nil {
		return nil, err
	}
	p.files[m.Config] = cfg.Path
	for _, s := range found.Suites {
		if err := p.add(s.Path, "suite "+s.Name); err != nil {
			return nil, err
		}
		rel, _ := p.rel(s.Path, "")
		m.Suites = append(m.Suites, rel)
		for _, in := range s.Inputs {
			if err := p.add(in, "input of suite "+s.Name); err != nil {
				return nil, err
			}
		}
		if s.Cwd != "" {
			rel, err := p.rel(s.Cwd, "working directory of suite "+s.Name)
			if err != nil {
				return nil, err
			}
			if rel != "." {
				p.dirs[rel] = true
			}
		}
	}
	for _, g := range o.Include {
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(cfg.Dir, pattern)
		}
		ms, err := filepath.Glob(pattern)
		if err != nil || len(ms) == 0 {
			return nil, fmt.Errorf("archive: --include %s matches no file", g)
		}
		for _, f := range ms {
			if err := p.add(f, "--include "+g); err != nil {
				return nil, err
			}
		}
	}
	if o.History != "" {
		if _, err := os.Stat(o.History); err == nil {
			if rel, err := p.rel(o.HistoryAt, ""); err == nil {
				p.files[rel] = o.History
			}
		}
	}
	if err := p.write(out, m); err != nil {
		os.Remove(out)
		return nil, err
	}
	return m, nil
}

// checkRelative refuses config paths an extracted archive could not
// honour: absolute suite paths, inputs and working directories.
func checkRelative(cfg *config.File) error {
	for _, s := range cfg.Suites {
		var abs []string
		for _, p := range append(append([]string{s.Cwd}, s.Paths...), s.Inputs...) {
			if p != "" && filepath.IsAbs(p) {
				abs = append(abs, p)
			}
		}
		if len(abs) > 0 {
			return fmt.Errorf("archive: %s:%d: suite %q uses absolute paths (%s): an archive runs from another directory, so paths, inputs and cwd must be relative to %s",
				cfg.Path, s.Line, s.Name, strings.Join(abs, ", "), cfg.Dir)
		}
	}
	return nil
}

// packer collects the files of an archive.
type packer struct {
	root   string
	files  map[string]string // stored path -> file on disk
	dirs   map[string]bool   // directories to create (suites' cwd)
	walked []fs.FileInfo     // directories added, against symlink loops
}

// add schedules abs to be stored; what is outside the root is refused.
func (p *packer) add(abs, what string) error {
	rel, err := p.rel(abs, what)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs) // follows symlinks
	if err != nil {
		return fmt.Errorf("archive: %s %s: %w", what, abs, err)
	}
	if fi.IsDir() {
		for _, seen := range p.walked {
			if os.SameFile(seen, fi) {
				return nil // a symlink loop, or a directory already packed
			}
		}
		p.walked = append(p.walked, fi)
		ents, err := os.ReadDir(abs)
		if err != nil {
			return fmt.Errorf("archive: %s %s: %w", what, abs, err)
		}
		for _, e := range ents {
			if err := p.add(filepath.Join(abs, e.Name()), what); err != nil {
				return err
			}
		}
		return nil
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("archive: %s %s: not a regular file", what, abs)
	}
	p.files[rel] = abs
	return nil
}

// rel is abs relative to the root; paths outside it cannot be remapped.
func (p *packer) rel(abs, what string) (string, error) {
	rel, err := filepath.Rel(p.root, abs)
	if err != nil || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("archive: %s %s is outside %s, the config's directory: an archive stores paths relative to it (move it inside, or run volley archive from a config higher up)", what, abs, p.root)
	}
	return filepath.ToSlash(rel), nil
}

// write stores the manifest, then every file (sorted by path), in out.
func (p *packer) write(out string, m *Manifest) error {
	paths := make([]string, 0, len(p.files))
	for rel := range p.files {
		paths = append(paths, rel)
	}
	sort.Strings(paths)
	type stored struct {
		rel string
		fi  fs.FileInfo
	}
	bySize := map[int64][]stored{} // to store the same file once
	hasher := cache.NewHasher()
	for _, rel := range paths {
		abs := p.files[rel]
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		mf := File{Path: rel, Size: fi.Size(), Mode: fi.Mode().Perm()}
		for _, o := range bySize[fi.Size()] {
			if os.SameFile(o.fi, fi) {
				mf.Link = o.rel
				break
			}
		}
		if mf.Link == "" {
			bySize[fi.Size()] = append(bySize[fi.Size()], stored{rel, fi})
			if mf.SHA256, err = hasher.File(abs); err != nil {
				return fmt.Errorf("archive: %w", err)
			}
		}
		m.Files = append(m.Files, mf)
	}
	for d := range p.dirs {
		m.Dirs = append(m.Dirs, d)
	}
	sort.Strings(m.Dirs)
	if _, err := m.check(); err != nil {
		return fmt.Errorf("archive: %w", err)
	}

	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("archive: %w", err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	// Executables compress little better at higher levels, and much slower.
	gz, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	err = p.writeEntries(tw, m)
	if cerr := tw.Close(); err == nil {
		err = cerr
	}
	if cerr := gz.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive %s: %w", out, err)
	}
	return nil
}

func (p *packer) writeEntries(tw *tar.Writer, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	now := m.Created
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(b)), ModTime: now}); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	for _, d := range m.Dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
			return err
		}
	}
	for _, mf := range m.Files {
		h := &tar.Header{Name: mf.Path, Mode: int64(mf.Mode), ModTime: now}
		if mf.Link != "" {
			h.Typeflag, h.Linkname = tar.TypeLink, mf.Link
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
			continue
		}
		h.Typeflag, h.Size = tar.TypeReg, mf.Size
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		in, err := os.Open(p.files[mf.Path])
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, io.LimitReader(in, mf.Size+1))
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", mf.Path, err)
		}
		if n != mf.Size {
			return fmt.Errorf("%s changed while it was archived", mf.Path)
		}
	}
	return nil
}
