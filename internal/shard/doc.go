// Package shard is volley's side of running one suite set on several
// machines: which shard this machine runs (--partition, or the CI system's
// parallelism variables), what a shard leaves in its output directory
// (--output-dir), and `volley merge`, which combines those directories into
// the reports of one run and checks that the shards add up to the plan.
package shard
