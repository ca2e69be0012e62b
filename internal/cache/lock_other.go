//go:build !unix

package cache

// lock is a no-op where flock is not available: writes stay atomic (rename)
// but concurrent volleys may lose each other's records.
func lock(path string) (unlock func(), err error) { return func() {}, nil }
