package config

import (
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDurationWithPlainDecode(t *testing.T) {
	var v struct{ A, B Duration }
	if _, err := toml.Decode("A = \"2m\"\nB = 3\n", &v); err != nil {
		t.Fatal(err)
	}
	if v.A.Duration != 2*time.Minute || v.B.Duration != 3*time.Second {
		t.Errorf("got %v %v", v.A, v.B)
	}
	if _, err := toml.Decode("A = \"-2m\"\n", &v); err == nil {
		t.Error("negative duration accepted")
	}
	if b, _ := v.A.MarshalText(); string(b) != "2m0s" {
		t.Errorf("MarshalText = %s", b)
	}
}
