package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// layout is where a Spec's local files land in the input root.
type layout struct {
	root    string               // local directory that becomes the input root
	workDir string               // working directory, relative to root ("" = root)
	arg0    string               // argv[0] relative to workDir, containing a slash
	files   map[string]inputFile // root-relative slash path -> file
	dirs    map[string]bool      // root-relative directories that must exist
}

type inputFile struct {
	local      string
	executable bool
	info       os.FileInfo
}

// planLayout resolves the Spec's executable, inputs, working directory and
// output parents to absolute paths and places them under their deepest
// common directory.
func planLayout(s Spec) (*layout, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("empty argv")
	}
	cwd := s.Cwd
	if cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		cwd = wd
	}
	cwd, err := filepath.Abs(cwd)
	if err != nil {
		return nil, err
	}
	exe, err := resolveExe(s.Argv[0], cwd)
	if err != nil {
		return nil, err
	}
	type local struct {
		path string
		exec bool
	}
	locals := []local{{exe, true}}
	for _, in := range s.Inputs {
		p := in
		if !filepath.IsAbs(p) {
			p = filepath.Join(cwd, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !fi.IsDir() {
			locals = append(locals, local{filepath.Clean(p), false})
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			locals = append(locals, local{q, false})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
	}
	dirs := []string{cwd}
	for _, l := range locals {
		dirs = append(dirs, filepath.Dir(l.path))
	}
	for _, out := range s.OutputFiles {
		if out == "" || filepath.IsAbs(out) {
			return nil, fmt.Errorf("output file %q: must be relative to the working directory", out)
		}
		dirs = append(dirs, filepath.Dir(filepath.Join(cwd, out)))
	}
	root := commonDir(dirs)
	l := &layout{root: root, files: map[string]inputFile{}, dirs: map[string]bool{}}
	rel := func(p string) string {
		r, _ := filepath.Rel(root, p)
		if r == "." {
			return ""
		}
		return filepath.ToSlash(r)
	}
	l.workDir = rel(cwd)
	l.addDir(l.workDir)
	for _, lc := range locals {
		fi, err := os.Stat(lc.path)
		if err != nil {
			return nil, fmt.Errorf("input: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("input %s: not a regular file", lc.path)
		}
		r := rel(lc.path)
		prev := l.files[r]
		l.files[r] = inputFile{local: lc.path, executable: lc.exec || prev.executable || fi.Mode()&0o111 != 0, info: fi}
		l.addDir(path.Dir(r))
	}
	a, err := filepath.Rel(cwd, exe)
	if err != nil {
		return nil, err
	}
	a = filepath.ToSlash(a)
	if !strings.Contains(a, "/") {
		a = "./" + a
	}
	l.arg0 = a
	return l, nil
}

func (l *layout) addDir(d string) {
	for d != "" && d != "." && d != "/" {
		l.dirs[d] = true
		d = path.Dir(d)
	}
}

// resolveExe finds argv[0]: a path relative to cwd, or a bare name looked up
// in cwd and then on the local PATH.
func resolveExe(arg0, cwd string) (string, error) {
	if filepath.IsAbs(arg0) {
		return filepath.Clean(arg0), nil
	}
	if strings.ContainsRune(arg0, filepath.Separator) || strings.Contains(arg0, "/") {
		return filepath.Join(cwd, arg0), nil
	}
	if fi, err := os.Stat(filepath.Join(cwd, arg0)); err == nil && fi.Mode().IsRegular() {
		return filepath.Join(cwd, arg0), nil
	}
	p, err := exec.LookPath(arg0)
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// commonDir is the deepest directory containing every one of dirs (absolute).
func commonDir(dirs []string) string {
	common := dirs[0]
	for _, d := range dirs[1:] {
		for !within(d, common) {
			parent := filepath.Dir(common)
			if parent == common {
				break
			}
			common = parent
		}
	}
	return common
}

func within(p, dir string) bool {
	if p == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}

// merkle builds the Directory protos of l bottom-up. It returns the root
// digest and every blob of the tree: directories and file contents.
func (l *layout) merkle(digests *fileDigests) (*repb.Digest, map[digestKey]blob, error) {
	blobs := map[digestKey]blob{}
	dirs := map[string]*repb.Directory{"": {}}
	for d := range l.dirs {
		dirs[d] = &repb.Directory{}
	}
	for r, f := range l.files {
		d, err := digests.digest(f.local, f.info)
		if err != nil {
			return nil, nil, fmt.Errorf("input: %w", err)
		}
		blobs[keyOf(d)] = blob{digest: d, path: f.local}
		parent := path.Dir(r)
		if parent == "." {
			parent = ""
		}
		dirs[parent].Files = append(dirs[parent].Files, &repb.FileNode{Name: path.Base(r), Digest: d, IsExecutable: f.executable})
	}
	// Children before parents: deepest paths first.
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := depth(names[i]), depth(names[j])
		if di != dj {
			return di > dj
		}
		return names[i] < names[j]
	})
	var root *repb.Digest
	for _, name := range names {
		dir := dirs[name]
		sort.Slice(dir.Files, func(i, j int) bool { return dir.Files[i].Name < dir.Files[j].Name })
		sort.Slice(dir.Directories, func(i, j int) bool { return dir.Directories[i].Name < dir.Directories[j].Name })
		b, err := marshal(dir)
		if err != nil {
			return nil, nil, err
		}
		d := digestBytes(b)
		blobs[keyOf(d)] = blob{digest: d, data: b}
		if name == "" {
			root = d
			continue
		}
		parent := path.Dir(name)
		if parent == "." {
			parent = ""
		}
		dirs[parent].Directories = append(dirs[parent].Directories, &repb.DirectoryNode{Name: path.Base(name), Digest: d})
	}
	return root, blobs, nil
}

func depth(d string) int {
	if d == "" {
		return 0
	}
	return strings.Count(d, "/") + 1
}
