package protocol

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"debug/gosym"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// goPackageDir finds the source directory of the package a Go test binary
// tests, so it can run there as under `go test` (testdata/ and fuzz seed
// corpora are relative to it). In order: the directory of the _test.go
// files recorded in the binary's line table (ELF binaries built without
// -trimpath), GOROOT/src/<path> for a standard-library package, then
// `go list` of the import path from the binary's build info. It returns ""
// when none of them names an existing directory. env is added to the go
// commands' environment (see Lister).
func goPackageDir(ctx context.Context, bin string, env []string) string {
	if d := goTestFileDir(bin); d != "" {
		return d
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return ""
	}
	pkg := strings.TrimSuffix(bi.Path, ".test")
	if pkg == "" || pkg == bi.Path || pkg == "command-line-arguments" {
		return ""
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if !strings.Contains(strings.SplitN(pkg, "/", 2)[0], ".") {
		// No dot in the first element: a standard-library package.
		cmd := exec.CommandContext(ctx, gobin, "env", "GOROOT")
		cmd.Env = withEnv(os.Environ(), env)
		out, err := cmd.Output()
		if err == nil {
			if d := filepath.Join(strings.TrimSpace(string(out)), "src", pkg); isDir(d) {
				return d
			}
		}
	}
	cmd := exec.CommandContext(ctx, gobin, "list", "-f", "{{.Dir}}", pkg)
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = withEnv(os.Environ(), env)
	out, err := cmd.Output()
	if d := strings.TrimSpace(string(out)); err == nil && filepath.IsAbs(d) && isDir(d) {
		return d
	}
	return ""
}

// goTestFileDir returns the existing directory holding most of the
// _test.go files named in an ELF Go binary's line table; a test binary
// compiles only the tested package's test files.
func goTestFileDir(bin string) string {
	f, err := elf.Open(bin)
	if err != nil {
		return ""
	}
	defer f.Close()
	pcln, text := f.Section(".gopclntab"), f.Section(".text")
	if pcln == nil || text == nil {
		return ""
	}
	data, err := pcln.Data()
	if err != nil {
		return ""
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text.Addr))
	if err != nil {
		return ""
	}
	count := map[string]int{}
	for name := range tab.Files {
		if strings.HasSuffix(name, "_test.go") && filepath.IsAbs(name) {
			count[filepath.Dir(name)]++
		}
	}
	best := ""
	for d, n := range count {
		if (n > count[best] || n == count[best] && d < best) && isDir(d) {
			best = d
		}
	}
	return best
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
