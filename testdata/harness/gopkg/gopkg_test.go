package gopkg

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPass(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("1+2 != 3")
	}
}

func TestFail(t *testing.T) {
	t.Log("about to fail")
	t.Errorf("Add(2, 2) = %d, want 5", Add(2, 2))
}

func TestSkip(t *testing.T) {
	t.Skip("needs a network")
}

func TestSub(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			if Add(n, 0) != n {
				t.Fail()
			}
		})
	}
}

// TestFramingLookalike prints lines that look like test framing; only the
// harness's own framing must count.
func TestFramingLookalike(t *testing.T) {
	fmt.Println("--- FAIL: TestNotReal (0.00s)")
	fmt.Println("=== RUN   TestNotReal")
}

func TestReadsTestdata(t *testing.T) {
	b, err := os.ReadFile("testdata/input.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "hello") {
		t.Fatalf("testdata/input.txt = %q", b)
	}
}

func TestParallelA(t *testing.T) {
	t.Parallel()
}

func TestParallelB(t *testing.T) {
	t.Parallel()
}

// TestPanics panics when GOPKG_PANIC is set, and passes otherwise.
func TestPanics(t *testing.T) {
	if os.Getenv("GOPKG_PANIC") != "" {
		panic("boom")
	}
}

// TestHangs hangs when GOPKG_HANG is set, and passes otherwise.
func TestHangs(t *testing.T) {
	if os.Getenv("GOPKG_HANG") != "" {
		time.Sleep(time.Hour)
	}
}

func TestLast(t *testing.T) {}

func ExampleAdd() {
	fmt.Println(Add(1, 1))
	// Output: 2
}

// ExampleAdd_mismatch prints the wrong answer when GOPKG_EXAMPLE_FAIL is
// set, and passes otherwise.
func ExampleAdd_mismatch() {
	if os.Getenv("GOPKG_EXAMPLE_FAIL") != "" {
		fmt.Println("five")
	} else {
		fmt.Println(Add(2, 2))
	}
	// Output: 4
}

// ExampleAdd_unchecked has no output comment: go test compiles it and
// does not run it.
func ExampleAdd_unchecked() {
	fmt.Println(Add(0, 0))
}

func BenchmarkAdd(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Add(i, i)
	}
}

func FuzzAdd(f *testing.F) {
	f.Add(1, 2)
	f.Fuzz(func(t *testing.T, a, b int) {
		if Add(a, b) != Add(b, a) {
			t.Fail()
		}
		// The seed in testdata/fuzz/FuzzAdd runs only in the package
		// directory.
		if a == 40 && os.Getenv("GOPKG_FUZZ_FAIL") != "" {
			t.Errorf("Add(%d, %d): seed from testdata/fuzz ran; want it to fail", a, b)
		}
	})
}
