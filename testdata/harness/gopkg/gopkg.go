// Package gopkg is a tiny fixture package for volley's gotest harness tests.
package gopkg

// Add returns a + b.
func Add(a, b int) int { return a + b }
