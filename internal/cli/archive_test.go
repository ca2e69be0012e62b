package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchiveRoundTrip: archive a corpus, move the original away, run the
// archive from its extraction: the same counts.
func TestArchiveRoundTrip(t *testing.T) {
	volleyExe(t)
	work := t.TempDir()
	proj := filepath.Join(work, "proj")
	cfg := testCorpus(t, proj)
	out, code := runVolley(t, work, "test", "--config", cfg, "-j4", "--format", "plain", "--no-cache")
	if code != ExitTestsFailed {
		t.Fatalf("original run: exit %d\n%s", code, out)
	}
	want := summaryOf(t, out)

	file := filepath.Join(work, "dist", "tests.tar.gz")
	o := defaultRunOptions()
	o.configPath = cfg
	// The fixture suites read NAME.fixture beside them: not a declared
	// input, so --include it.
	m, err := writeArchive(&o, file, []string{"*.fixture"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Suites) != 12 || m.Config != "volley.toml" {
		t.Errorf("manifest: %d suites, config %q", len(m.Suites), m.Config)
	}
	// The twelve suites are symlinks to one binary: stored once.
	links := 0
	for _, f := range m.Files {
		if f.Link != "" {
			links++
		}
	}
	if links != 11 {
		t.Errorf("%d files stored as links to an earlier one, want 11", links)
	}
	if err := os.Rename(proj, filepath.Join(work, "moved")); err != nil {
		t.Fatal(err)
	}

	path, cleanup, err := extractArchive(file)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(path)
	if fi, err := os.Lstat(filepath.Join(root, m.Suites[0])); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o100 == 0 {
		t.Errorf("extracted suite %s: %v, %v (want an executable regular file)", m.Suites[0], fi, err)
	}
	other := t.TempDir()
	out, code = runVolley(t, other, "test", "--config", path, "-j4", "--format", "plain", "--no-cache")
	if code != ExitTestsFailed || summaryOf(t, out) != want {
		t.Errorf("from the archive: exit %d, %q; want 1, %q\n%s", code, summaryOf(t, out), want, out)
	}
	if _, err := os.Stat(filepath.Join(root, ".volley", OutHistory)); err != nil {
		t.Errorf("the history was not archived: %v", err)
	}
	cleanup()
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("cleanup left %s: %v", root, err)
	}
}

// TestArchiveRefusesOutside: paths that cannot be remapped are refused
// with a message naming them.
func TestArchiveRefusesOutside(t *testing.T) {
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.MkdirAll(proj, 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "t1"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	os.WriteFile(filepath.Join(proj, "t2"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	for name, tc := range map[string]struct{ toml, want string }{
		"outside":  {"[[suite]]\nprotocol = \"exec\"\npaths = [\"../bin/*\"]\n", "outside"},
		"absolute": {"[[suite]]\nprotocol = \"exec\"\npaths = [\"" + filepath.Join(dir, "bin") + "/*\"]\n", "absolute"},
		"input":    {"[[suite]]\nprotocol = \"exec\"\npaths = [\"t2\"]\ninputs = [\"../bin/t1\"]\n", "outside"},
	} {
		cfg := filepath.Join(proj, "volley.toml")
		os.WriteFile(cfg, []byte(tc.toml), 0o644)
		o := defaultRunOptions()
		o.configPath = cfg
		_, err := writeArchive(&o, filepath.Join(dir, name+".tar.gz"), nil, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) || ExitCode(err, &bytes.Buffer{}) != ExitUsage {
			t.Errorf("%s: err %v, want a usage error saying %q", name, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, name+".tar.gz")); err == nil {
			t.Errorf("%s: an archive was written", name)
		}
	}
}

// TestExtractRejects: archives that are not volley's, escape the
// directory or do not match their manifest are refused.
func TestExtractRejects(t *testing.T) {
	type entry struct {
		name, body string
		typ        byte
		link       string
	}
	mk := func(m *manifest, entries ...entry) []byte {
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
			tw.WriteHeader(h)
			tw.Write([]byte(e.body))
		}
		tw.Close()
		gz.Close()
		return buf.Bytes()
	}
	good := manifestFile{Path: "volley.toml", Size: 2, Mode: 0o644,
		SHA256: "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"} // sha256("hi")
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"not gzip":    {[]byte("plain text"), "not a volley archive"},
		"no manifest": {mk(nil, entry{name: "volley.toml", body: "hi"}), "first entry"},
		"escape":      {mk(&manifest{Version: 1, Config: "volley.toml"}, entry{name: "../evil", body: "x"}), "escapes"},
		"symlink":     {mk(&manifest{Version: 1, Config: "volley.toml"}, entry{name: "l", typ: tar.TypeSymlink, link: "/etc/passwd"}), "unexpected type"},
		"tampered":    {mk(&manifest{Version: 1, Config: "volley.toml", Files: []manifestFile{good}}, entry{name: "volley.toml", body: "ho"}), "sha256"},
		"truncated":   {mk(&manifest{Version: 1, Config: "volley.toml", Files: []manifestFile{good, {Path: "t"}}}, entry{name: "volley.toml", body: "hi"}), "not in the archive"},
		"unlisted":    {mk(&manifest{Version: 1, Config: "volley.toml"}, entry{name: "x", body: "x"}), "not in the manifest"},
	} {
		_, err := extractTo(bytes.NewReader(tc.data), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", name, err, tc.want)
		}
	}
	m, err := extractTo(bytes.NewReader(mk(&manifest{Version: 1, Config: "volley.toml", Files: []manifestFile{good}},
		entry{name: "volley.toml", body: "hi"})), t.TempDir())
	if err != nil || m.Config != "volley.toml" {
		t.Errorf("a good archive: %v", err)
	}
}
