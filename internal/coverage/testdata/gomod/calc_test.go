package covtarget

import "testing"

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("Add")
	}
}

func TestAbsNegative(t *testing.T) {
	if Abs(-1) != 1 {
		t.Fatal("Abs")
	}
}

func TestCounter(t *testing.T) {
	var c Counter
	if c.Inc(5) != 1 {
		t.Fatal("Inc")
	}
}
