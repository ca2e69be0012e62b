package protocol

import (
	"testing"
	"time"
)

func TestDefaultTimeout(t *testing.T) {
	for p, want := range map[string][2]time.Duration{
		"gotest":  {10 * time.Minute, time.Minute},
		"tml":     {20 * time.Second, 10 * time.Second},
		"tap":     {5 * time.Minute, time.Minute},
		"gtest":   {5 * time.Minute, time.Minute},
		"libtest": {5 * time.Minute, time.Minute},
		"exec":    {5 * time.Minute, time.Minute},
	} {
		if got := [2]time.Duration{DefaultTimeout(p), DefaultSlow(p)}; got != want {
			t.Errorf("%s: timeout, slow = %v; want %v", p, got, want)
		}
		if DefaultSlow(p) >= DefaultTimeout(p) {
			t.Errorf("%s: slow warning not before the kill", p)
		}
	}
	for _, p := range Names() {
		if DefaultTimeout(p) <= 0 {
			t.Errorf("%s: no default timeout", p)
		}
	}
}
