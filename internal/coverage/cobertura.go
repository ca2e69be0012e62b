package coverage

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Cobertura XML (coverage-04.dtd): one package per source directory, one
// class per file. File names are relative to the single source root, the
// directory volley ran in, when they are under it; otherwise they are
// absolute, or the import path when a Go file could not be located.

type cobCoverage struct {
	XMLName         xml.Name    `xml:"coverage"`
	LineRate        string      `xml:"line-rate,attr"`
	BranchRate      string      `xml:"branch-rate,attr"`
	LinesCovered    int         `xml:"lines-covered,attr"`
	LinesValid      int         `xml:"lines-valid,attr"`
	BranchesCovered int         `xml:"branches-covered,attr"`
	BranchesValid   int         `xml:"branches-valid,attr"`
	Complexity      string      `xml:"complexity,attr"`
	Version         string      `xml:"version,attr"`
	Timestamp       int64       `xml:"timestamp,attr"`
	Sources         []string    `xml:"sources>source"`
	Packages        cobPackages `xml:"packages"`
}

type cobPackages struct {
	Package []cobPackage `xml:"package"`
}

type cobPackage struct {
	Name       string     `xml:"name,attr"`
	LineRate   string     `xml:"line-rate,attr"`
	BranchRate string     `xml:"branch-rate,attr"`
	Complexity string     `xml:"complexity,attr"`
	Classes    cobClasses `xml:"classes"`
}

type cobClasses struct {
	Class []cobClass `xml:"class"`
}

type cobClass struct {
	Name       string     `xml:"name,attr"`
	Filename   string     `xml:"filename,attr"`
	LineRate   string     `xml:"line-rate,attr"`
	BranchRate string     `xml:"branch-rate,attr"`
	Complexity string     `xml:"complexity,attr"`
	Methods    cobMethods `xml:"methods"`
	Lines      cobLines   `xml:"lines"`
}

type cobMethods struct {
	Method []cobMethod `xml:"method"`
}

type cobMethod struct {
	Name       string   `xml:"name,attr"`
	Signature  string   `xml:"signature,attr"`
	LineRate   string   `xml:"line-rate,attr"`
	BranchRate string   `xml:"branch-rate,attr"`
	Complexity string   `xml:"complexity,attr"`
	Lines      cobLines `xml:"lines"`
}

type cobLines struct {
	Line []cobLine `xml:"line"`
}

type cobLine struct {
	Number            int    `xml:"number,attr"`
	Hits              int64  `xml:"hits,attr"`
	Branch            string `xml:"branch,attr"`
	ConditionCoverage string `xml:"condition-coverage,attr,omitempty"`
}

func rate(covered, total int) string {
	if total == 0 {
		return "1"
	}
	return fmt.Sprintf("%.4f", float64(covered)/float64(total))
}

// writeCobertura writes s as Cobertura XML, file names relative to root.
func writeCobertura(w io.Writer, s lineSet, root string, now time.Time) error {
	type pkgAcc struct {
		classes        []cobClass
		lines, covered int
		br, brCovered  int
	}
	pkgs := map[string]*pkgAcc{}
	doc := cobCoverage{Complexity: "0", Version: "volley", Timestamp: now.UnixMilli(), Sources: []string{root}}
	for _, p := range slices.Sorted(maps.Keys(s)) {
		f := s[p]
		name := p
		if filepath.IsAbs(p) {
			if rel, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(rel, "..") {
				name = filepath.ToSlash(rel)
			}
		}
		c := cobClass{Name: path.Base(name), Filename: name, Complexity: "0"}
		branches := map[int][2]int{} // line -> taken, total
		for k, h := range f.Branches {
			b := branches[k.Line]
			b[1]++
			if h > 0 {
				b[0]++
			}
			branches[k.Line] = b
		}
		covered := 0
		for _, l := range slices.Sorted(maps.Keys(f.Lines)) {
			h := f.Lines[l]
			if h > 0 {
				covered++
			}
			line := cobLine{Number: l, Hits: h, Branch: "false"}
			if b, ok := branches[l]; ok {
				line.Branch = "true"
				line.ConditionCoverage = fmt.Sprintf("%d%% (%d/%d)", b[0]*100/b[1], b[0], b[1])
			}
			c.Lines.Line = append(c.Lines.Line, line)
		}
		brN, brC := f.branchTotals()
		c.LineRate, c.BranchRate = rate(covered, len(f.Lines)), rate(brC, brN)
		for _, n := range slices.Sorted(maps.Keys(f.Funcs)) {
			fn := f.Funcs[n]
			r := "0"
			if fn.Hits > 0 {
				r = "1"
			}
			c.Methods.Method = append(c.Methods.Method, cobMethod{
				Name: n, LineRate: r, BranchRate: "1", Complexity: "0",
				Lines: cobLines{Line: []cobLine{{Number: fn.Line, Hits: fn.Hits, Branch: "false"}}},
			})
		}
		dir := path.Dir(name)
		acc := pkgs[dir]
		if acc == nil {
			acc = &pkgAcc{}
			pkgs[dir] = acc
		}
		acc.classes = append(acc.classes, c)
		acc.lines += len(f.Lines)
		acc.covered += covered
		acc.br += brN
		acc.brCovered += brC
		doc.LinesValid += len(f.Lines)
		doc.LinesCovered += covered
		doc.BranchesValid += brN
		doc.BranchesCovered += brC
	}
	for _, dir := range slices.Sorted(maps.Keys(pkgs)) {
		acc := pkgs[dir]
		doc.Packages.Package = append(doc.Packages.Package, cobPackage{
			Name: strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "."), Complexity: "0",
			LineRate: rate(acc.covered, acc.lines), BranchRate: rate(acc.brCovered, acc.br),
			Classes: cobClasses{Class: acc.classes},
		})
	}
	doc.LineRate = rate(doc.LinesCovered, doc.LinesValid)
	doc.BranchRate = rate(doc.BranchesCovered, doc.BranchesValid)
	if _, err := io.WriteString(w, xml.Header+`<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">`+"\n"); err != nil {
		return err
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
