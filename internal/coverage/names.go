package coverage

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest line accepted as a function name.
const MaxNameLen = 4096

// Why a line is not a function name.
const (
	badUTF8    = "invalid UTF-8"
	badControl = "NUL or control bytes"
	badLong    = "longer than 4096 bytes"
)

// nameStats is what reading one file of names found.
type nameStats struct {
	bytes    int64
	names    int            // lines accepted
	rejected map[string]int // lines rejected, by reason
	example  string         // the first rejected line, quoted
	partial  string         // the unterminated last line, dropped; quoted
}

// problems describes what was wrong with the file, "" when nothing was.
func (s *nameStats) problems() string {
	var p []string
	if s.bytes == 0 {
		p = append(p, "empty coverage file (the process wrote nothing)")
	} else if s.names == 0 && s.partial == "" && len(s.rejected) == 0 {
		p = append(p, "no function names in the file")
	}
	if s.partial != "" {
		p = append(p, "last line is cut short (process killed mid-write?), dropped: "+s.partial)
	}
	if n := s.nrejected(); n > 0 {
		var why []string
		for _, r := range []string{badUTF8, badControl, badLong} {
			if k := s.rejected[r]; k > 0 {
				why = append(why, fmt.Sprintf("%d %s", k, r))
			}
		}
		p = append(p, fmt.Sprintf("%s rejected (%s), first: %s",
			plural(n, "line", "lines"), strings.Join(why, ", "), s.example))
	}
	return strings.Join(p, "; ")
}

func (s *nameStats) nrejected() int {
	n := 0
	for _, k := range s.rejected {
		n += k
	}
	return n
}

func (s *nameStats) reject(reason string, line []byte) {
	if s.rejected == nil {
		s.rejected = map[string]int{}
	}
	if s.nrejected() == 0 {
		s.example = quote(line)
	}
	s.rejected[reason]++
}

// readNames reads function names, one a line, calling add for each. It
// keeps every complete, valid line: a last line without its newline is
// dropped (a writer was killed mid-line), and lines with invalid UTF-8,
// control bytes or more than MaxNameLen bytes are rejected; both are
// counted in the stats, not errors. Blank lines are skipped. A hand-written
// list (list set) may have comment lines starting with '#' and may lack the
// last newline. The error is a read error.
func readNames(r io.Reader, list bool, add func(string)) (nameStats, error) {
	var st nameStats
	br := bufio.NewReaderSize(r, MaxNameLen+2)
	for {
		line, err := br.ReadSlice('\n')
		st.bytes += int64(len(line))
		if errors.Is(err, bufio.ErrBufferFull) {
			head := bytes.Clone(line[:min(len(line), 100)])
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				st.bytes += int64(len(line))
			}
			switch {
			case err == io.EOF && !list:
				st.partial = quote(head)
				return st, nil
			case err != nil && err != io.EOF:
				return st, err
			}
			st.reject(badLong, head)
			if err == io.EOF {
				return st, nil
			}
			continue
		}
		if err != nil && err != io.EOF {
			return st, err
		}
		if len(line) == 0 {
			return st, nil
		}
		if err == io.EOF && !list {
			st.partial = quote(line)
			return st, nil
		}
		text := bytes.TrimRight(line, "\r\n")
		text = bytes.Trim(text, " \t")
		switch {
		case len(text) == 0, list && text[0] == '#':
		case len(text) > MaxNameLen:
			st.reject(badLong, text)
		case !utf8.Valid(text):
			st.reject(badUTF8, text)
		case slices.ContainsFunc(text, func(b byte) bool { return b < 0x20 || b == 0x7f }):
			st.reject(badControl, text)
		default:
			st.names++
			add(string(text))
		}
		if err == io.EOF {
			return st, nil
		}
	}
}
