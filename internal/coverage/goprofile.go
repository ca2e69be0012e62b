package coverage

import (
	"bufio"
	"cmp"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"slices"
	"strconv"
	"strings"
)

// goBlock is one block of a Go text coverage profile:
// file:startLine.startCol,endLine.endCol numStmts count
type goBlock struct {
	File                string
	StartLine, StartCol int
	EndLine, EndCol     int
	Stmts               int
	Count               int64
}

// parseGoProfile reads a Go text profile ("mode: set" then blocks). The
// same block listed twice is merged: counts summed, or or-ed in set mode.
// Blocks come back sorted by file and position.
func parseGoProfile(r io.Reader) (mode string, blocks []goBlock, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	type key struct {
		file           string
		sl, sc, el, ec int
	}
	idx := map[key]int{}
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if m, ok := strings.CutPrefix(line, "mode: "); ok && mode == "" {
			mode = m
			continue
		}
		b, err := parseGoBlock(line)
		if err != nil {
			return mode, nil, fmt.Errorf("line %d: %w", n, err)
		}
		k := key{b.File, b.StartLine, b.StartCol, b.EndLine, b.EndCol}
		if i, ok := idx[k]; ok {
			if mode == "set" {
				blocks[i].Count = max(blocks[i].Count, b.Count)
			} else {
				blocks[i].Count += b.Count
			}
			continue
		}
		idx[k] = len(blocks)
		blocks = append(blocks, b)
	}
	if err := sc.Err(); err != nil {
		return mode, nil, err
	}
	if mode == "" {
		return mode, nil, fmt.Errorf("no mode line")
	}
	slices.SortFunc(blocks, func(a, b goBlock) int {
		return cmp.Or(strings.Compare(a.File, b.File), a.StartLine-b.StartLine, a.StartCol-b.StartCol,
			a.EndLine-b.EndLine, a.EndCol-b.EndCol)
	})
	return mode, blocks, nil
}

func parseGoBlock(line string) (goBlock, error) {
	var b goBlock
	bad := fmt.Errorf("bad block %q", line)
	i := strings.LastIndexByte(line, ':')
	if i <= 0 {
		return b, bad
	}
	b.File = line[:i]
	f := strings.Fields(line[i+1:])
	if len(f) != 3 {
		return b, bad
	}
	start, end, ok := strings.Cut(f[0], ",")
	if !ok {
		return b, bad
	}
	var errs [6]error
	b.StartLine, b.StartCol, errs[0], errs[1] = linecol(start)
	b.EndLine, b.EndCol, errs[2], errs[3] = linecol(end)
	b.Stmts, errs[4] = strconv.Atoi(f[1])
	b.Count, errs[5] = strconv.ParseInt(f[2], 10, 64)
	for _, e := range errs {
		if e != nil {
			return b, bad
		}
	}
	return b, nil
}

func linecol(s string) (int, int, error, error) {
	l, c, _ := strings.Cut(s, ".")
	line, e1 := strconv.Atoi(l)
	col, e2 := strconv.Atoi(c)
	return line, col, e1, e2
}

// goStatements counts the statements of blocks, and those that ran.
func goStatements(blocks []goBlock) (total, covered int) {
	for _, b := range blocks {
		total += b.Stmts
		if b.Count > 0 {
			covered += b.Stmts
		}
	}
	return total, covered
}

// goLines turns blocks into line coverage: a line's hits are the most of
// any block spanning it. paths maps the profile's file names (import path
// and file) to files on disk; a file not in it keeps its profile name.
// Functions are found by parsing the files that are on disk: a function's
// hits are the most of any block inside it.
func goLines(blocks []goBlock, paths map[string]string) lineSet {
	s := lineSet{}
	byFile := map[string][]goBlock{}
	for _, b := range blocks {
		byFile[b.File] = append(byFile[b.File], b)
	}
	for name, bs := range byFile {
		p := name
		if disk, ok := paths[name]; ok {
			p = disk
		}
		f := s.file(p)
		for _, b := range bs {
			for l := b.StartLine; l <= b.EndLine; l++ {
				if h, ok := f.Lines[l]; !ok || b.Count > h {
					f.Lines[l] = b.Count
				}
			}
		}
		if p != name {
			for _, fn := range goFuncs(p) {
				var hits int64
				for _, b := range bs {
					if fn.contains(b) {
						hits = max(hits, b.Count)
					}
				}
				f.Funcs[fn.name] = &funcLines{Line: fn.line, Hits: hits}
			}
		}
	}
	return s
}

type goFunc struct {
	name                string
	line                int
	startLine, startCol int
	endLine, endCol     int
}

func (f goFunc) contains(b goBlock) bool {
	after := b.StartLine > f.startLine || b.StartLine == f.startLine && b.StartCol >= f.startCol
	before := b.StartLine < f.endLine || b.StartLine == f.endLine && b.StartCol <= f.endCol
	return after && before
}

// goFuncs lists the functions with bodies in a Go source file; nil when it
// cannot be parsed. Methods are named like "T.M" and "(*T).M".
func goFuncs(path string) []goFunc {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	var fns []goFunc
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		name := fd.Name.Name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			name = recvName(fd.Recv.List[0].Type) + "." + name
		}
		start, end := fset.Position(fd.Body.Lbrace), fset.Position(fd.Body.Rbrace)
		fns = append(fns, goFunc{
			name: name, line: fset.Position(fd.Pos()).Line,
			startLine: start.Line, startCol: start.Column, endLine: end.Line, endCol: end.Column,
		})
	}
	return fns
}

func recvName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "(*" + recvName(t.X) + ")"
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	case *ast.ParenExpr:
		return recvName(t.X)
	}
	return "?"
}
