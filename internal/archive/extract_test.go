package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tentry is one tar entry of a hand-made archive.
type tentry struct {
	name, body string
	typ        byte
	link       string
}

// mk writes a gzipped tar: the manifest m (none when nil), then entries.
func mk(t *testing.T, m *Manifest, entries ...tentry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if m != nil {
		b, _ := json.Marshal(m)
		tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o755, Size: int64(len(e.body)), Typeflag: e.typ, Linkname: e.link}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		tw.Write([]byte(e.body))
	}
	tw.Close()
	gz.Close()
	path := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// file is a manifest entry for body stored at path.
func file(path, body string) File {
	sum := sha256.Sum256([]byte(body))
	return File{Path: path, Size: int64(len(body)), Mode: 0o644, SHA256: hex.EncodeToString(sum[:])}
}

// manifest is a version 1 manifest with the config volley.toml and files.
func manifest(files ...File) *Manifest {
	return &Manifest{Version: Version, Config: "volley.toml", Files: append([]File{file("volley.toml", "hi")}, files...)}
}

var cfgEntry = tentry{name: "volley.toml", body: "hi"}

// TestExtractHostile: archives built to write outside the extraction
// directory (links out, duplicate entries, absolute names, "..") or that
// do not match their manifest are refused, and nothing at all is written:
// not outside, not even inside.
func TestExtractHostile(t *testing.T) {
	work := t.TempDir()
	victim := filepath.Join(work, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	// root is work/x/root: "../../victim" from a file in it is the victim.
	relVictim := "../../victim"
	hostile := map[string]struct {
		path string
		want string
	}{
		"not gzip":    {mkRaw(t, "plain text"), "not a volley archive"},
		"no manifest": {mk(t, nil, cfgEntry), "first entry"},
		"dotdot entry": {mk(t, manifest(file("../../victim", "pwned")),
			cfgEntry, tentry{name: "../../victim", body: "pwned"}), "escapes"},
		"dotdot entry unlisted": {mk(t, manifest(), cfgEntry, tentry{name: "../../victim", body: "pwned"}), "escapes"},
		"absolute entry": {mk(t, manifest(file(victim[1:], "pwned")),
			cfgEntry, tentry{name: victim, body: "pwned"}), "absolute"},
		"absolute in manifest": {mk(t, manifest(file(victim, "pwned")),
			cfgEntry, tentry{name: victim, body: "pwned"}), "absolute"},
		"unclean name": {mk(t, manifest(file("a/../volley.toml", "hi")),
			cfgEntry, tentry{name: "a/../volley.toml", body: "hi"}), "not a clean path"},
		// The attack the old extractor fell to: a hard link to a file
		// outside, then a second entry of the same name written through it.
		"link out then overwrite": {mk(t, manifest(File{Path: "x", Link: relVictim}),
			cfgEntry, tentry{name: "x", typ: tar.TypeLink, link: relVictim}, tentry{name: "x", body: "pwned"}), "escapes"},
		"link out, unlisted target": {mk(t, manifest(File{Path: "x", Link: "volley.toml"}),
			cfgEntry, tentry{name: "x", typ: tar.TypeLink, link: relVictim}), "manifest says"},
		"link to a later file": {mk(t, manifest(File{Path: "a", Link: "b"}, file("b", "b")),
			cfgEntry, tentry{name: "a", typ: tar.TypeLink, link: "b"}, tentry{name: "b", body: "b"}), "not a file stored before it"},
		"symlink": {mk(t, manifest(file("l", "")), cfgEntry, tentry{name: "l", typ: tar.TypeSymlink, link: victim}), "unexpected type"},
		"symlink dir then file": {mk(t, manifest(file("d/f", "pwned")),
			cfgEntry, tentry{name: "d", typ: tar.TypeSymlink, link: filepath.Dir(victim)}, tentry{name: "d/f", body: "pwned"}), "unexpected type"},
		"duplicate entry": {mk(t, manifest(file("a", "one")),
			cfgEntry, tentry{name: "a", body: "one"}, tentry{name: "a", body: "one"}), "twice"},
		"duplicate in manifest": {mk(t, manifest(file("a", "one"), file("a", "one")),
			cfgEntry, tentry{name: "a", body: "one"}), "twice"},
		"file is a directory": {mk(t, manifest(file("a", "one"), file("a/b", "two")),
			cfgEntry, tentry{name: "a", body: "one"}, tentry{name: "a/b", body: "two"}), "directory of"},
		"setuid": {mk(t, &Manifest{Version: 1, Config: "volley.toml", Files: []File{{Path: "volley.toml", Size: 2, Mode: 0o4755,
			SHA256: file("", "hi").SHA256}}}, cfgEntry), "only permission bits"},
		"unlisted dir": {mk(t, manifest(), cfgEntry, tentry{name: "../d/", typ: tar.TypeDir}), "escapes"},
		"device":       {mk(t, manifest(file("dev", "")), cfgEntry, tentry{name: "dev", typ: tar.TypeChar}), "unexpected type"},
		// The content check fails at the last entry: the earlier ones must
		// not have been written either.
		"tampered last": {mk(t, manifest(file("a", "aaa"), file("b", "bbb")),
			cfgEntry, tentry{name: "a", body: "aaa"}, tentry{name: "b", body: "BBB"}), "sha256"},
		"truncated": {mk(t, manifest(file("t", "t")), cfgEntry), "not in the archive"},
		"unlisted":  {mk(t, manifest(), cfgEntry, tentry{name: "x", body: "x"}), "not in the manifest"},
		"no config": {mk(t, &Manifest{Version: 1, Config: "volley.toml"}), "not among the stored files"},
		"version":   {mk(t, &Manifest{Version: 2, Config: "volley.toml"}), "archive version 2"},
	}
	for name, tc := range hostile {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(work, "x", "root-"+strings.ReplaceAll(name, " ", "-"))
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Extract(tc.path, root)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %q", err, tc.want)
			}
			if ents, _ := os.ReadDir(root); len(ents) > 0 {
				t.Errorf("a refused archive wrote %d entries into the extraction directory (%s...)", len(ents), ents[0].Name())
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Fatalf("the file outside was changed: %q, %v", b, err)
			}
			if ents, _ := os.ReadDir(work); len(ents) != 2 {
				t.Errorf("%d entries in the directory around the extraction, want 2 (x, victim)", len(ents))
			}
			if _, err := os.Lstat(filepath.Join(work, "x", "d")); err == nil {
				t.Errorf("a directory was made outside the extraction directory")
			}
		})
	}
}

func mkRaw(t *testing.T, s string) string {
	path := filepath.Join(t.TempDir(), "raw")
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExtractGood: a well-formed archive is extracted whole: files with
// their modes, hard links to earlier files, directories.
func TestExtractGood(t *testing.T) {
	exe := file("bin/t1", "#!/bin/sh\n")
	exe.Mode = 0o755
	m := manifest(exe, File{Path: "bin/t2", Size: exe.Size, Mode: 0o755, Link: "bin/t1"})
	m.Suites = []string{"bin/t1", "bin/t2"}
	m.Dirs = []string{"work/here"}
	path := mk(t, m, tentry{name: "work/here/", typ: tar.TypeDir}, cfgEntry,
		tentry{name: "bin/t1", body: "#!/bin/sh\n"}, tentry{name: "bin/t2", typ: tar.TypeLink, link: "bin/t1"})
	root := t.TempDir()
	got, err := Extract(path, root)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != "volley.toml" || len(got.Suites) != 2 {
		t.Errorf("manifest %+v", got)
	}
	for _, name := range []string{"bin/t1", "bin/t2"} {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v", name, fi, err)
		}
		if b, _ := os.ReadFile(filepath.Join(root, name)); string(b) != "#!/bin/sh\n" {
			t.Errorf("%s: %q", name, b)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "work", "here")); err != nil || !fi.IsDir() {
		t.Errorf("work/here: %v, %v", fi, err)
	}
	// Extracting again over the same files refuses to overwrite them.
	if _, err := Extract(path, root); err == nil {
		t.Errorf("extracting over existing files succeeded")
	}
}
