package jsonx

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// AppendString agrees with json.Marshal on arbitrary bytes too.
func TestAppendStringRandomBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "Z", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x7f", "é", "\u2028", "😀", "\xe2", "\x80", "\xff", "\xc3\xa9", "\xed\xa0\x80"}
	for range 5000 {
		var s []byte
		for range rng.IntN(12) {
			if rng.IntN(4) == 0 {
				s = append(s, byte(rng.IntN(256)))
			} else {
				s = append(s, pieces[rng.IntN(len(pieces))]...)
			}
		}
		want, _ := json.Marshal(string(s))
		if got := AppendString(nil, string(s)); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}
