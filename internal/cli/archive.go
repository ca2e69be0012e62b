package cli

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/volley-test/volley/internal/cache"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/config"
	"github.com/volley-test/volley/internal/discover"
)

// ManifestName is the first entry of an archive: what it holds.
const ManifestName = "volley-archive.json"

const archiveVersion = 1

// manifest describes an archive. Every path is relative to the config's
// directory, which becomes the extraction root.
type manifest struct {
	Version int            `json:"version"`
	Volley  string         `json:"volley"`
	Created time.Time      `json:"created"`
	Config  string         `json:"config"` // the volley.toml
	Suites  []string       `json:"suites"` // suite executables
	Files   []manifestFile `json:"files"`  // everything stored, the config and suites included
	Dirs    []string       `json:"dirs,omitempty"`
}

type manifestFile struct {
	Path   string      `json:"path"`
	Size   int64       `json:"size"`
	Mode   fs.FileMode `json:"mode"`
	SHA256 string      `json:"sha256"`
	// Link names an earlier file of the same content (the same file on
	// disk, e.g. several symlinks to one executable), stored once.
	Link string `json:"link,omitempty"`
}

func newArchiveCmd() *cobra.Command {
	o := defaultRunOptions()
	var out string
	var include []string
	var noHistory bool
	c := &cobra.Command{
		Use:   "archive -o FILE [--config FILE] [--include GLOB]...",
		Short: "Pack the suites of volley.toml, their inputs and the config into a tar.gz",
		Long: `Pack everything a run of volley.toml needs into FILE (a gzipped tar with a
manifest), to run it on another machine with volley test --archive FILE.

Packed, relative to the config's directory: volley.toml, every suite executable
(a symlink is resolved: the target's content is stored under the link's path),
the suites' declared inputs, the files matching --include (globs relative to the
config's directory, e.g. --include 'testdata/*'), the suites' working
directories, and the history (.volley/history.json), so that shards on other
machines cut the same --partition time:K/N plan. Interpreters and tools the
tests run are not packed. Paths must be relative and inside the config's
directory.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return usage(errors.New("archive: -o FILE is required"))
			}
			m, err := writeArchive(&o, out, include, !noHistory)
			if err != nil {
				return err
			}
			var size int64
			if fi, err := os.Stat(out); err == nil {
				size = fi.Size()
			}
			fmt.Fprintf(c.OutOrStdout(), "volley: archived %d suites, %d files (%d bytes) into %s\n",
				len(m.Suites), len(m.Files), size, out)
			return nil
		},
	}
	fs := c.Flags()
	fs.StringVarP(&out, "output", "o", "", "write the archive to `FILE`")
	fs.StringVar(&o.configPath, "config", "", "read `FILE` instead of the nearest volley.toml")
	fs.StringVar(&o.stateDir, "state-dir", "", "take the history from `DIR` (default .volley next to volley.toml)")
	fs.StringArrayVar(&include, "include", nil, "also pack the files matching `GLOB` (relative to the config's directory; repeatable)")
	fs.BoolVar(&noHistory, "no-history", false, "do not pack the history")
	return c
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

// writeArchive packs the run of the config o names into out.
func writeArchive(o *runOptions, out string, include []string, history bool) (*manifest, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(o, cwd)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, usage(errors.New("archive: no volley.toml found (an archive packs the suites a volley.toml describes; see --config)"))
	}
	if err := checkRelative(cfg); err != nil {
		return nil, usage(err)
	}
	found, err := discover.Discover(discover.Request{Config: cfg, Cwd: cfg.Dir})
	if err != nil {
		return nil, usage(err)
	}
	p := &packer{root: cfg.Dir, files: map[string]string{}, dirs: map[string]bool{}}
	m := &manifest{Version: archiveVersion, Volley: Version, Created: time.Now().UTC()}
	if m.Config, err = p.rel(cfg.Path, "the config"); err != nil {
		return nil, usage(err)
	}
	p.files[m.Config] = cfg.Path
	for _, s := range found.Suites {
		if err := p.add(s.Path, "suite "+s.Name); err != nil {
			return nil, usage(err)
		}
		rel, _ := p.rel(s.Path, "")
		m.Suites = append(m.Suites, rel)
		for _, in := range s.Inputs {
			if err := p.add(in, "input of suite "+s.Name); err != nil {
				return nil, usage(err)
			}
		}
		if s.Cwd != "" {
			rel, err := p.rel(s.Cwd, "working directory of suite "+s.Name)
			if err != nil {
				return nil, usage(err)
			}
			p.dirs[rel] = true
		}
	}
	for _, g := range include {
		pattern := g
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(cfg.Dir, pattern)
		}
		ms, err := filepath.Glob(pattern)
		if err != nil || len(ms) == 0 {
			return nil, usage(fmt.Errorf("archive: --include %s matches no file", g))
		}
		for _, f := range ms {
			if err := p.add(f, "--include "+g); err != nil {
				return nil, usage(err)
			}
		}
	}
	if history {
		// The history (--state-dir, else the config's) goes where the
		// extracted config's state directory will be, when that is inside
		// the extraction.
		hist := filepath.Join(stateDir(o, cfg, cwd), OutHistory)
		there := filepath.Join(stateDir(&runOptions{}, cfg, cfg.Dir), OutHistory)
		if _, err := os.Stat(hist); err == nil {
			if rel, err := p.rel(there, ""); err == nil {
				p.files[rel] = hist
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

// write stores the manifest, then every file (sorted by path), in out.
func (p *packer) write(out string, m *manifest) error {
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
	for _, rel := range paths {
		abs := p.files[rel]
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		mf := manifestFile{Path: rel, Size: fi.Size(), Mode: fi.Mode().Perm()}
		for _, o := range bySize[fi.Size()] {
			if os.SameFile(o.fi, fi) {
				mf.Link = o.rel
				break
			}
		}
		if mf.Link == "" {
			bySize[fi.Size()] = append(bySize[fi.Size()], stored{rel, fi})
		}
		if mf.Link == "" {
			if mf.SHA256, err = sha256File(abs); err != nil {
				return fmt.Errorf("archive: %w", err)
			}
		}
		m.Files = append(m.Files, mf)
	}
	for d := range p.dirs {
		m.Dirs = append(m.Dirs, d)
	}
	sort.Strings(m.Dirs)

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

func (p *packer) writeEntries(tw *tar.Writer, m *manifest) error {
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
		n, err := io.Copy(tw, in)
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

// sha256File is the hex sha256 of a file's content.
func sha256File(path string) (string, error) { return cache.NewHasher().File(path) }

// extractArchive unpacks an archive written by `volley archive` into a new
// temporary directory and returns the path of its volley.toml there, and
// the function that removes the directory. The config's directory is the
// extraction root, so the config's relative paths find the packed files.
// Every file is checked against the manifest (path, size, sha256).
func extractArchive(path string) (configPath string, cleanup func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, usage(fmt.Errorf("--archive %s: %v", path, err))
	}
	defer f.Close()
	root, err := os.MkdirTemp("", "volley-archive-")
	if err != nil {
		return "", nil, fmt.Errorf("--archive %s: %w", path, err)
	}
	cleanup = func() { os.RemoveAll(root) }
	m, err := extractTo(f, root)
	if err != nil {
		cleanup()
		return "", nil, usage(fmt.Errorf("--archive %s: %v", path, err))
	}
	return filepath.Join(root, filepath.FromSlash(m.Config)), cleanup, nil
}

// extractTo unpacks the archive r into root and checks it.
func extractTo(r io.Reader, root string) (*manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a volley archive (a .tar.gz): %v", err)
	}
	tr := tar.NewReader(gz)
	var m *manifest
	var want map[string]manifestFile
	got := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read: %v", err)
		}
		if m == nil {
			if h.Name != ManifestName {
				return nil, fmt.Errorf("not a volley archive: the first entry is %s, not %s", h.Name, ManifestName)
			}
			m = new(manifest)
			if err := json.NewDecoder(tr).Decode(m); err != nil {
				return nil, fmt.Errorf("manifest: %v", err)
			}
			if m.Version != archiveVersion {
				return nil, fmt.Errorf("archive version %d, this volley reads %d", m.Version, archiveVersion)
			}
			want = map[string]manifestFile{}
			for _, mf := range m.Files {
				want[mf.Path] = mf
			}
			continue
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("entry %q escapes the extraction directory", h.Name)
		}
		dst := filepath.Join(root, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return nil, err
			}
			continue
		case tar.TypeReg, tar.TypeLink:
		default:
			return nil, fmt.Errorf("entry %s: unexpected type %q", h.Name, h.Typeflag)
		}
		mf, ok := want[name]
		if !ok {
			return nil, fmt.Errorf("entry %s is not in the manifest", h.Name)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeLink {
			if err := linkOrCopy(filepath.Join(root, filepath.FromSlash(mf.Link)), dst, mf.Link); err != nil {
				return nil, fmt.Errorf("entry %s: %v", h.Name, err)
			}
		} else if err := writeEntry(tr, dst, mf); err != nil {
			return nil, fmt.Errorf("entry %s: %v", h.Name, err)
		}
		got[name] = true
	}
	if m == nil {
		return nil, errors.New("empty archive")
	}
	for _, mf := range m.Files {
		if !got[mf.Path] {
			return nil, fmt.Errorf("%s is in the manifest but not in the archive (truncated?)", mf.Path)
		}
	}
	return m, nil
}

// writeEntry writes one file and checks its size and hash.
func writeEntry(r io.Reader, dst string, mf manifestFile) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mf.Mode.Perm()|0o200)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return err
	case n != mf.Size:
		return fmt.Errorf("%d bytes, the manifest says %d", n, mf.Size)
	case hex.EncodeToString(h.Sum(nil)) != mf.SHA256:
		return errors.New("content does not match the manifest's sha256")
	}
	return os.Chmod(dst, mf.Mode.Perm())
}

// linkOrCopy makes dst the same content as the already extracted file
// from: a hard link, or a copy where links are not possible.
func linkOrCopy(from, dst, name string) error {
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("links to %s, not extracted before it", name)
	}
	if err := os.Link(from, dst); err == nil {
		return nil
	}
	if err := copyFile(from, dst); err != nil {
		return err
	}
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	return os.Chmod(dst, fi.Mode().Perm())
}
