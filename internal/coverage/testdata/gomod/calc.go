// Package covtarget is the Go package coverage tests measure: each test
// covers a different part, and one function no test calls.
package covtarget

// Add adds.
func Add(a, b int) int { return a + b }

// Abs is the absolute value.
func Abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Counter counts.
type Counter struct{ n int }

// Inc increments the counter; past limit it wraps to zero.
func (c *Counter) Inc(limit int) int {
	c.n++
	if c.n > limit {
		c.n = 0
	}
	return c.n
}

// Never is called by no test.
func Never() int {
	total := 0
	for i := range 10 {
		total += i
	}
	return total
}
