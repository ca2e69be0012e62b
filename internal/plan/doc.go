// Package plan decides which units run and in what order: name filters
// today; ordering, partitioning and batching build on it.
package plan
