package bytesize

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"512", 512, true}, {"64K", 64 << 10, true}, {"10M", 10 << 20, true},
		{"8G", 8 << 30, true}, {"1GiB", 1 << 30, true}, {"2mb", 2 << 20, true}, {"1T", 1 << 40, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5G", 0, false}, {"G", 0, false}, {"9999999999T", 0, false},
	} {
		got, err := Parse(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("Parse(%q) = %d, %v; want %d (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
