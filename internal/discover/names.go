package discover

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/volley-test/volley/internal/protocol"
)

// uniqueNames makes suite names unique: a name shared by several suites
// becomes, for each of them, the shortest suffix of its path (in whole
// components) that no other suite's path ends with. a/x/t and b/x/t become
// a/x/t and b/x/t; c/y/t beside them becomes y/t. Only names derived from
// paths are changed.
func uniqueNames(ss []*protocol.Suite) {
	count := map[string]int{}
	for _, s := range ss {
		count[s.Name]++
	}
	var clash []*protocol.Suite
	for _, s := range ss {
		if count[s.Name] > 1 && s.Name == protocol.SuiteName(s.Path) {
			clash = append(clash, s)
		}
	}
	if len(clash) == 0 {
		return
	}
	comps := make([][]string, len(clash))
	for i, s := range clash {
		comps[i] = strings.Split(filepath.ToSlash(filepath.Clean(s.Path)), "/")
	}
	suffix := func(c []string, k int) string {
		if k > len(c) {
			k = len(c)
		}
		return strings.Join(c[len(c)-k:], "/")
	}
	for i, s := range clash {
		for k := 1; ; k++ {
			name := suffix(comps[i], k)
			unique := true
			for j := range clash {
				if j != i && suffix(comps[j], k) == name {
					unique = false
					break
				}
			}
			if unique || k >= len(comps[i]) {
				s.Name = name
				break
			}
		}
	}
}

// NamesSuffix is appended to a tml suite's path to find its list of test
// names: one name per line, in index order.
const NamesSuffix = ".names"

// readNames reads the sidecar list of test names of a tml suite, nil when
// there is none. Blank lines are skipped; surrounding spaces and a
// trailing \r are dropped. A name listed twice is an error (a retry could
// not tell the two apart).
func readNames(exe string) ([]string, error) {
	path := exe + NamesSuffix
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("test names %s: %w", path, err)
	}
	defer f.Close()
	var names []string
	line := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		name := strings.TrimSpace(sc.Text())
		if name == "" {
			continue
		}
		if first, dup := line[name]; dup {
			return nil, fmt.Errorf("%s:%d: test name %q already on line %d (each test needs its own name)", path, n, name, first)
		}
		line[name] = n
		names = append(names, name)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("test names %s: %w", path, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("test names %s: the file lists no names (delete it, or write one name per line in index order)", path)
	}
	return names, nil
}
