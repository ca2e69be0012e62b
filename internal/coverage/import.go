package coverage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/volley-test/volley/internal/fileutil"

	"github.com/volley-test/volley/internal/protocol"
)

// RawDir is where a Collector whose Options.Dir is dir keeps the raw files
// its processes wrote: the input of Import.
func RawDir(dir string) string { return filepath.Join(dir, "raw") }

// Import adds the raw coverage files another Collector left in raw (its
// RawDir) to c, as if c had handed them out: each process gets a new id,
// firstID, firstID+1, ... in the order of the old ids, so that the ids of
// several imports do not collide. It returns the old-to-new id map: give
// Observe the imported results with their Proc mapped.
func (c *Collector) Import(raw string, firstID int) (map[int]int, error) {
	type procFiles struct {
		suite, protocol string
		tml, gocov      []string
		llvm            []string // file names: ID-rest.profraw
	}
	procs := map[int]*procFiles{}
	get := func(id int) *procFiles {
		if procs[id] == nil {
			procs[id] = &procFiles{}
		}
		return procs[id]
	}
	tmls, _ := filepath.Glob(filepath.Join(raw, "tml", "*.txt"))
	for _, f := range tmls {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		i := strings.LastIndexByte(name, '-')
		if i < 0 {
			continue
		}
		id, err := strconv.Atoi(name[i+1:])
		if err != nil {
			continue
		}
		p := get(id)
		p.suite, p.protocol = name[:i], "tml"
		p.tml = append(p.tml, f)
	}
	gos, _ := os.ReadDir(filepath.Join(raw, "go"))
	for _, e := range gos {
		if id, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			files, _ := filepath.Glob(filepath.Join(raw, "go", e.Name(), "*"))
			get(id).gocov = append(get(id).gocov, files...)
		}
	}
	llvms, _ := filepath.Glob(filepath.Join(raw, "llvm", "*.profraw"))
	for _, f := range llvms {
		prefix, _, _ := strings.Cut(filepath.Base(f), "-")
		if id, err := strconv.Atoi(prefix); err == nil {
			get(id).llvm = append(get(id).llvm, filepath.Base(f))
		}
	}
	old := make([]int, 0, len(procs))
	for id := range procs {
		old = append(old, id)
	}
	sort.Ints(old)
	ids := map[int]int{}
	next := firstID
	for _, id := range old {
		p := procs[id]
		ids[id] = next
		suite := p.suite
		if suite == "" {
			suite = "?"
		}
		env, done := c.Env(&protocol.Unit{Suite: &protocol.Suite{Name: suite, Protocol: p.protocol}}, next)
		dest := map[string]string{}
		for _, kv := range env {
			k, v, _ := strings.Cut(kv, "=")
			dest[k] = v
		}
		var err error
		for _, f := range p.tml {
			err = errors.Join(err, appendRaw(f, dest[TMLEnv]))
		}
		for _, f := range p.gocov {
			err = errors.Join(err, fileutil.Copy(f, filepath.Join(dest[GoEnv], filepath.Base(f))))
		}
		llvmDir := filepath.Dir(dest[LLVMEnv])
		for _, name := range p.llvm {
			_, rest, _ := strings.Cut(name, "-")
			err = errors.Join(err, fileutil.Copy(filepath.Join(raw, "llvm", name), filepath.Join(llvmDir, fmt.Sprintf("%d-%s", next, rest))))
		}
		done()
		if err != nil {
			return nil, fmt.Errorf("coverage: import %s: %w", raw, err)
		}
		next++
	}
	return ids, nil
}

// appendRaw appends the content of from to the file to.
func appendRaw(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
