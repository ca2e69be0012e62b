package coverage

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// lineSet is line coverage by source file: what LCOV and Cobertura hold.
type lineSet map[string]*fileLines

// fileLines is the coverage of one source file.
type fileLines struct {
	Lines    map[int]int64         // line -> hits
	Funcs    map[string]*funcLines // by name
	Branches map[branchKey]int64   // hits; -1 when the branch's block never ran ("-")
}

type funcLines struct {
	Line int
	Hits int64
}

// branchKey is LCOV's BRDA:<line>,<block>,<branch>.
type branchKey struct{ Line, Block, Branch int }

func (s lineSet) file(path string) *fileLines {
	f := s[path]
	if f == nil {
		f = &fileLines{Lines: map[int]int64{}, Funcs: map[string]*funcLines{}, Branches: map[branchKey]int64{}}
		s[path] = f
	}
	return f
}

// add sums o into s.
func (s lineSet) add(o lineSet) {
	for path, of := range o {
		f := s.file(path)
		for l, h := range of.Lines {
			f.Lines[l] += h
		}
		for name, fn := range of.Funcs {
			if g := f.Funcs[name]; g != nil {
				g.Hits += fn.Hits
			} else {
				f.Funcs[name] = &funcLines{Line: fn.Line, Hits: fn.Hits}
			}
		}
		for k, h := range of.Branches {
			if g, ok := f.Branches[k]; ok && g >= 0 {
				if h > 0 {
					f.Branches[k] = g + h
				}
			} else {
				f.Branches[k] = h
			}
		}
	}
}

// totals counts instrumented and covered lines.
func (s lineSet) totals() (lines, covered int) {
	for _, f := range s {
		for _, h := range f.Lines {
			lines++
			if h > 0 {
				covered++
			}
		}
	}
	return lines, covered
}

func (f *fileLines) branchTotals() (n, covered int) {
	for _, h := range f.Branches {
		n++
		if h > 0 {
			covered++
		}
	}
	return n, covered
}

// writeLCOV writes s as an LCOV tracefile, files and lines in order.
func writeLCOV(w io.Writer, s lineSet) error {
	bw := bufio.NewWriter(w)
	for _, path := range slices.Sorted(maps.Keys(s)) {
		f := s[path]
		fmt.Fprintf(bw, "TN:\nSF:%s\n", path)
		names := slices.SortedFunc(maps.Keys(f.Funcs), func(a, b string) int {
			if d := f.Funcs[a].Line - f.Funcs[b].Line; d != 0 {
				return d
			}
			return strings.Compare(a, b)
		})
		hit := 0
		for _, n := range names {
			fmt.Fprintf(bw, "FN:%d,%s\n", f.Funcs[n].Line, n)
		}
		for _, n := range names {
			fmt.Fprintf(bw, "FNDA:%d,%s\n", f.Funcs[n].Hits, n)
			if f.Funcs[n].Hits > 0 {
				hit++
			}
		}
		fmt.Fprintf(bw, "FNF:%d\nFNH:%d\n", len(names), hit)
		for _, l := range slices.Sorted(maps.Keys(f.Lines)) {
			fmt.Fprintf(bw, "DA:%d,%d\n", l, f.Lines[l])
		}
		if len(f.Branches) > 0 {
			keys := slices.SortedFunc(maps.Keys(f.Branches), func(a, b branchKey) int {
				if a.Line != b.Line {
					return a.Line - b.Line
				}
				if a.Block != b.Block {
					return a.Block - b.Block
				}
				return a.Branch - b.Branch
			})
			for _, k := range keys {
				h := strconv.FormatInt(f.Branches[k], 10)
				if f.Branches[k] < 0 {
					h = "-"
				}
				fmt.Fprintf(bw, "BRDA:%d,%d,%d,%s\n", k.Line, k.Block, k.Branch, h)
			}
			n, c := f.branchTotals()
			fmt.Fprintf(bw, "BRF:%d\nBRH:%d\n", n, c)
		}
		lines, covered := 0, 0
		for _, h := range f.Lines {
			lines++
			if h > 0 {
				covered++
			}
		}
		fmt.Fprintf(bw, "LF:%d\nLH:%d\nend_of_record\n", lines, covered)
	}
	return bw.Flush()
}

// parseLCOV reads an LCOV tracefile. Records it does not know are ignored;
// malformed ones are counted in bad.
func parseLCOV(r io.Reader) (s lineSet, bad int, err error) {
	s = lineSet{}
	var cur *fileLines
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, _ := strings.Cut(line, ":")
		switch key {
		case "SF":
			cur = s.file(val)
			continue
		case "end_of_record":
			cur = nil
			continue
		case "DA", "FN", "FNDA", "BRDA":
		default:
			continue
		}
		if cur == nil {
			bad++
			continue
		}
		f := strings.Split(val, ",")
		switch key {
		case "DA": // line,hits[,checksum]
			l, err1 := strconv.Atoi(f[0])
			var h int64
			var err2 error
			if len(f) >= 2 {
				h, err2 = strconv.ParseInt(f[1], 10, 64)
			}
			if len(f) < 2 || err1 != nil || err2 != nil {
				bad++
				continue
			}
			cur.Lines[l] += h
		case "FN": // line,name (name may hold commas)
			l, err := strconv.Atoi(f[0])
			if len(f) < 2 || err != nil {
				bad++
				continue
			}
			name := strings.Join(f[1:], ",")
			if cur.Funcs[name] == nil {
				cur.Funcs[name] = &funcLines{Line: l}
			}
		case "FNDA": // hits,name
			h, err := strconv.ParseInt(f[0], 10, 64)
			if len(f) < 2 || err != nil {
				bad++
				continue
			}
			name := strings.Join(f[1:], ",")
			fn := cur.Funcs[name]
			if fn == nil {
				fn = &funcLines{}
				cur.Funcs[name] = fn
			}
			fn.Hits += h
		case "BRDA": // line,block,branch,taken|-
			if len(f) != 4 {
				bad++
				continue
			}
			var k branchKey
			var e1, e2, e3 error
			k.Line, e1 = strconv.Atoi(f[0])
			k.Block, e2 = strconv.Atoi(f[1])
			k.Branch, e3 = strconv.Atoi(f[2])
			h := int64(-1)
			var e4 error
			if f[3] != "-" {
				h, e4 = strconv.ParseInt(f[3], 10, 64)
			}
			if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
				bad++
				continue
			}
			if g, ok := cur.Branches[k]; ok && g > 0 && h > 0 {
				h += g
			} else if ok && g > h {
				h = g
			}
			cur.Branches[k] = h
		}
	}
	return s, bad, sc.Err()
}
