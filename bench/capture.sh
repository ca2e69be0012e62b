#!/usr/bin/env bash
# bench/capture.sh — the cost of capturing a test's output line by line.
#
# A test that prints short lines one at a time makes every pipe read return
# one line, so volley's capture gets one small Write per line, long after
# its in-memory part and tail ring are full. This runs the Go benchmark
# BenchmarkCaptureSmallWrites (internal/runner) RUNS times and reports the
# median throughput. Target: at least TARGET MB/s (the bar the unit test
# used to hold: 32 MB of 55-byte lines in under 5 s). A capture that copied
# its 256 KiB tail ring on every write would miss it by far.
#
# Knobs (environment):
#   RUNS=3       benchmark runs (median reported)
#   TARGET=6.4   MB/s
#   KEEP=1       keep the work directory (the benchmark output)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init capture
RUNS=${RUNS:-3}
TARGET=${TARGET:-6.4}
log_start "RUNS=$RUNS"

(cd "$root" && go test -c -o "$work/runner.test" ./internal/runner) || die "build the runner tests failed"
rates=()
for _ in $(seq "$RUNS"); do
	"$work/runner.test" -test.run '^$' -test.bench '^BenchmarkCaptureSmallWrites$' >>"$work/bench.txt" ||
		die "benchmark failed: $(tail -n5 "$work/bench.txt")"
	rate=$(awk '/^BenchmarkCaptureSmallWrites/ { r = $(NF-1) } END { print r }' "$work/bench.txt")
	[[ -n "$rate" ]] || die "no MB/s in the benchmark output"
	rates+=("$rate")
done
med=$(median "${rates[@]}")
printf 'capture small writes: %s MB/s median of %s (runs: %s); target >= %s MB/s: %s\n' \
	"$med" "$RUNS" "${rates[*]}" "$TARGET" "$(verdict ge "$med" "$TARGET")"
