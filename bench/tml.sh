#!/usr/bin/env bash
# bench/tml.sh — TML suites under the real failure model, in one run:
#
#   (a) one 48-file tml suite of 250 ms files (a file per test index, as TML
#       builds them), at -j8: with file 1 crashing (SIGSEGV) vs the same
#       suite with no crash. After the crash the other 46 files run by
#       --test-index spread over the free slots, so the crash run should take
#       at most 0.5x the no-crash run (which is one --run-all process: TML's
#       files run one after another in it). Target <= 0.5.
#   (b) the seed corpus shape (454 suites, 3632 test files, sleep-bound, at
#       SCALE=1) with FAILURES failing and CRASHES crashing files: volley -j1
#       vs -j16. Target >= 12x.
#
# Knobs: SCALE=1 MEAN=20ms FAILURES=20 CRASHES=5 RUNS=1 VOLLEY=path KEEP=1
#        SKIP_A=1 / SKIP_B=1
set -euo pipefail

SCALE=${SCALE:-1}
MEAN=${MEAN:-20ms}
FAILURES=${FAILURES:-20}
CRASHES=${CRASHES:-5}
RUNS=${RUNS:-1}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init tml

build_volley
build_bench corpus
backdate_volley
sleep 2
watch_load
log_start "RUNS=$RUNS"
results=()

# summary_is LOG P F: the run's summary line says P passed, F failed.
summary_is() {
	grep -qx "volley: $2 passed, $3 failed, 0 skipped" "$1" ||
		die "unexpected volley summary in $1 (want $2 passed, $3 failed): $(grep -m1 '^volley:' "$1" || tail -n3 "$1")"
}

if [[ "${SKIP_A:-}" != 1 ]]; then
	a=$work/a
	mkdir -p "$a"
	for kind in clean crash; do
		ln -s "$V" "$a/$kind"
		{
			echo "protocol tml"
			for ((i = 0; i < 48; i++)); do
				if [[ $kind == crash && $i == 1 ]]; then echo "test sleep=10ms crash=SIGSEGV"; else echo "test sleep=250ms"; fi
			done
		} >"$a/$kind.fixture"
	done
	run_a() { "$V" test --protocol tml --no-cache --state-dir "$work/state-a-$1" -j8 "$a/$1" >"$work/a-$1.log" 2>&1 || true; }
	clean=() crash=()
	for ((i = 1; i <= RUNS; i++)); do
		clean+=("$(timed run_a clean)")
		summary_is "$work/a-clean.log" 48 0
		crash+=("$(timed run_a crash)")
		summary_is "$work/a-crash.log" 47 1
		log "(a) run $i: no crash ${clean[-1]}s  crash at file 1 ${crash[-1]}s"
	done
	mc=$(median "${clean[@]}") mx=$(median "${crash[@]}")
	r=$(ratio "$mx" "$mc")
	results+=("$(printf 'tml (a) 48 files x 250ms, -j8: no crash %.2fs  crash at file 1 %.2fs  ratio %s  (target <= 0.5: %s)' "$mc" "$mx" "$r" "$(verdict le "$r" 0.5)")")
fi

if [[ "${SKIP_B:-}" != 1 ]]; then
	seed=$work/seed
	seed_corpus "$seed" -failures "$FAILURES" -crashes "$CRASHES"
	tests=$(get tests) suites=$(get suites)
	bad=$((FAILURES + CRASHES))
	run_b() { "$V" test --config "$seed/volley.toml" --no-cache --state-dir "$work/state-b" -j"$1" >"$work/b-j$1.log" 2>&1 || true; }
	run_b 16 # warm-up: hashes and history
	summary_is "$work/b-j16.log" $((tests - bad)) "$bad"
	j1=() j16=()
	for ((i = 1; i <= RUNS; i++)); do
		j1+=("$(timed run_b 1)")
		summary_is "$work/b-j1.log" $((tests - bad)) "$bad"
		j16+=("$(timed run_b 16)")
		summary_is "$work/b-j16.log" $((tests - bad)) "$bad"
		log "(b) run $i: -j1 ${j1[-1]}s  -j16 ${j16[-1]}s"
	done
	m1=$(median "${j1[@]}") m16=$(median "${j16[@]}")
	sp=$(ratio "$m1" "$m16")
	results+=("$(printf 'tml (b) seed corpus (%s test files in %s suites, %s failing, %s crashing): j1 %.1fs  j16 %.2fs  speedup %sx  (target >= 12x: %s)' \
		"$tests" "$suites" "$FAILURES" "$CRASHES" "$m1" "$m16" "$sp" "$(verdict ge "$sp" 12)")")
fi

warn_load
printf '%s\n' "${results[@]}"
