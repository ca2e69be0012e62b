package coverage

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", MaxNameLen)
	for _, tc := range []struct {
		in       string
		list     bool
		names    []string
		problems string
	}{
		{"a\nb\n", false, []string{"a", "b"}, ""},
		{"", false, nil, "empty coverage file (the process wrote nothing)"},
		{"\n\n", false, nil, "no function names in the file"},
		{"a\nb", false, []string{"a"}, `last line is cut short (process killed mid-write?), dropped: "b"`},
		{"a\nb", true, []string{"a", "b"}, ""},
		{"# c\na\n", true, []string{"a"}, ""},
		{"# c\na\n", false, []string{"# c", "a"}, ""},
		{" a \r\n\tb\t\n", false, []string{"a", "b"}, ""},
		{long + "\n" + long + "x\n", false, []string{long}, `1 line rejected (1 longer than 4096 bytes), first: "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"…`},
		{"a\x00b\nok\n\xc3\x28\n", false, []string{"ok"}, `2 lines rejected (1 invalid UTF-8, 1 NUL or control bytes), first: "a\x00b"`},
		{"ok\n" + strings.Repeat("z", 1<<17), false, []string{"ok"}, "last line is cut short"},
		{"ok\n" + strings.Repeat("z", 1<<17), true, []string{"ok"}, "1 line rejected"},
	} {
		var got []string
		st, err := readNames(strings.NewReader(tc.in), tc.list, func(n string) { got = append(got, n) })
		if err != nil || !slices.Equal(got, tc.names) || !strings.HasPrefix(st.problems(), tc.problems) || (tc.problems == "") != (st.problems() == "") {
			t.Errorf("%.40q list=%v: names %.80q problems %q err %v; want %.80q %q", tc.in, tc.list, got, st.problems(), err, tc.names, tc.problems)
		}
	}
}

// TestReadNamesChunked: the result does not depend on how the input
// arrives.
func TestReadNamesChunked(t *testing.T) {
	t.Parallel()
	in := "parser::a\n\xffbad\nlexer::b\n" + strings.Repeat("q", 5000) + "\nend::c\npart"
	var whole []string
	st1, _ := readNames(strings.NewReader(in), false, func(n string) { whole = append(whole, n) })
	for _, size := range []int{1, 3, 7, 4096} {
		var got []string
		st2, err := readNames(&chunked{b: []byte(in), n: size}, false, func(n string) { got = append(got, n) })
		if err != nil || !slices.Equal(got, whole) || st1.problems() != st2.problems() {
			t.Errorf("chunks of %d: %q %q, want %q %q", size, got, st2.problems(), whole, st1.problems())
		}
	}
}

type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}

func FuzzReadNames(f *testing.F) {
	f.Add([]byte("a::b\nc\n"), false)
	f.Add([]byte("a\x00\n\xff\nlast"), false)
	f.Add([]byte("# x\r\n  y  \nz"), true)
	f.Fuzz(func(t *testing.T, in []byte, list bool) {
		var names []string
		st, err := readNames(bytes.NewReader(in), list, func(n string) { names = append(names, n) })
		if err != nil {
			t.Fatal(err)
		}
		if st.bytes != int64(len(in)) || st.names != len(names) {
			t.Fatalf("stats %+v for %d bytes, %d names", st, len(in), len(names))
		}
		for _, n := range names {
			if n == "" || len(n) > MaxNameLen || !utf8.ValidString(n) || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
				strings.TrimSpace(n) != n && strings.Trim(n, " \t") != n {
				t.Fatalf("accepted %q", n)
			}
			if !bytes.Contains(in, []byte(n)) {
				t.Fatalf("name %q not in input", n)
			}
		}
		if st.partial != "" && (list || bytes.HasSuffix(in, []byte("\n"))) {
			t.Fatalf("partial %s with list=%v", st.partial, list)
		}
	})
}
