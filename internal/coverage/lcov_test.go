package coverage

import (
	"bytes"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sampleLCOV = `TN:
SF:/src/p.c
FN:3,fa
FN:4,fb
FNDA:1,fa
FNDA:0,fb
FNF:2
FNH:1
DA:3,1
DA:4,0
DA:5,0
BRDA:4,0,0,-
BRDA:4,0,1,2
BRF:2
BRH:1
LF:3
LH:1
end_of_record
TN:
SF:/elsewhere/q.c
FN:1,q,with,commas
FNDA:2,q,with,commas
DA:1,2
DA:bad
end_of_record
`

func TestLCOVRoundTrip(t *testing.T) {
	t.Parallel()
	s, bad, err := parseLCOV(strings.NewReader(sampleLCOV))
	if err != nil || bad != 1 || len(s) != 2 {
		t.Fatalf("parse: %v, %d bad, %d files", err, bad, len(s))
	}
	p := s["/src/p.c"]
	if p.Lines[3] != 1 || p.Funcs["fa"].Hits != 1 || p.Funcs["fb"].Line != 4 || p.Branches[branchKey{4, 0, 0}] != -1 || p.Branches[branchKey{4, 0, 1}] != 2 {
		t.Errorf("p.c: %+v", p)
	}
	if f := s["/elsewhere/q.c"].Funcs["q,with,commas"]; f == nil || f.Hits != 2 {
		t.Errorf("function name with commas: %+v", s["/elsewhere/q.c"].Funcs)
	}
	var b bytes.Buffer
	if err := writeLCOV(&b, s); err != nil {
		t.Fatal(err)
	}
	again, bad, err := parseLCOV(&b)
	if err != nil || bad != 0 || !reflect.DeepEqual(again, s) {
		t.Errorf("round trip: %v %d\n%s", err, bad, b.String())
	}
	if lines, covered := s.totals(); lines != 4 || covered != 2 {
		t.Errorf("totals %d %d", lines, covered)
	}
	// Summing two runs.
	s.add(again)
	if p.Lines[3] != 2 || p.Funcs["fa"].Hits != 2 || p.Branches[branchKey{4, 0, 0}] != -1 || p.Branches[branchKey{4, 0, 1}] != 4 {
		t.Errorf("sum: %+v", p)
	}
}

func TestCobertura(t *testing.T) {
	t.Parallel()
	s, _, _ := parseLCOV(strings.NewReader(sampleLCOV))
	var b bytes.Buffer
	if err := writeCobertura(&b, s, "/src", time.Unix(1000, 0)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`+"\n<!DOCTYPE coverage") {
		t.Errorf("header:\n%s", b.String())
	}
	var doc cobCoverage
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.LinesValid != 4 || doc.LinesCovered != 2 || doc.LineRate != "0.5000" || doc.BranchesValid != 2 || doc.BranchesCovered != 1 {
		t.Errorf("totals %+v", doc)
	}
	var files []string
	for _, p := range doc.Packages.Package {
		for _, c := range p.Classes.Class {
			files = append(files, c.Filename)
		}
	}
	if !reflect.DeepEqual(files, []string{"p.c", "/elsewhere/q.c"}) {
		t.Errorf("files %q", files)
	}
	if !strings.Contains(b.String(), `<line number="4" hits="0" branch="true" condition-coverage="50% (1/2)"></line>`) {
		t.Errorf("branch line missing:\n%s", b.String())
	}
}
