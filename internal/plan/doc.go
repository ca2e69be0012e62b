// Package plan decides which units run and in what order: it lists the
// tests of listable harnesses, applies name filters, the result cache and
// --failed, orders by history (failures first, then longest first),
// partitions for sharding, and cuts listable suites into batches sized from
// the measured start-up cost and within the kernel's argument limits.
package plan
