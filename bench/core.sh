#!/usr/bin/env bash
# bench/core.sh — the core launcher benchmarks, in one run:
#
#   (a) sleep-bound seed corpus (fixture.Seed shape, tml suites): volley -j1
#       vs -j16, median wall of RUNS each; speedup j1/j16. Target >= 12x.
#   (b) N trivial exec tests: volley -j2 vs xargs -P2, median wall of RUNS
#       each (interleaved); ratio volley/xargs. Target <= 1.10.
#
# Knobs (environment):
#   SCALE=0.5    seed corpus size (1 = 454 suites, 3632 tests; 0.5 keeps the
#                shape at 227 suites, 1816 tests and a ~40s -j1 run)
#   MEAN=20ms    mean test duration of the seed corpus (lognormal, sigma 1)
#   RUNS=3       timed runs per measurement (median reported)
#   JOBS_HI=16   the parallel -j of (a)
#   NEXEC=2000   exec tests in (b)
#   VOLLEY=path  use this volley binary instead of building one
#   KEEP=1       keep the work directory (corpora, logs)
#   SKIP_A=1 / SKIP_B=1  skip a part
#
# Volley runs with --no-cache (every run really runs the tests) and its own
# --state-dir under the work dir: history from earlier runs of the same
# invocation still orders the suites (smart order: longest first), as it
# would for a user running the suite again.
#
# Volley's stdout/stderr go to a log file (not a TTY, so no live view): the
# summary line is checked so that a run that tested the wrong thing (e.g.
# 0 tests) fails the benchmark instead of looking fast.
set -euo pipefail

SCALE=${SCALE:-0.5}
MEAN=${MEAN:-20ms}
RUNS=${RUNS:-3}
JOBS_HI=${JOBS_HI:-16}
NEXEC=${NEXEC:-2000}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init core

# --- build ------------------------------------------------------------------
build_volley
build_bench corpus
backdate_volley
sleep 2 # let the ctime age, so the warm-up runs memoize the hash

watch_load
log_start "RUNS=$RUNS"
results=()

# --- (a) sleep-bound seed corpus: -j1 vs -j$JOBS_HI ---------------------------
if [[ "${SKIP_A:-}" != 1 ]]; then
	seed=$work/seed
	seed_corpus "$seed"
	suites=$(get suites) tests=$(get tests) total=$(get total) longest=$(get longest)
	# Ideal wall at -jN is at least max(total/N, longest suite): tml runs a
	# suite's tests one after another in one process.
	bound=$(awk -v t="$total" -v l="$longest" -v j="$JOBS_HI" 'BEGIN { w = t / j; if (l > w) w = l; printf "%.1f", t / w }')
	log "(a) corpus: $suites suites, $tests tests, sleep total ${total}s, longest suite ${longest}s ($(get longest_suite), $(get longest_tests) tests); ideal speedup at -j$JOBS_HI <= ${bound}x"
	run_seed() { "$V" test --config "$seed/volley.toml" --no-cache --state-dir "$work/state-a" -j"$1" >"$work/a-j$1.log" 2>&1; }
	# Warm-up (untimed): hashes the executables and records the history the
	# smart order uses, so every timed run starts from the same state.
	run_seed "$JOBS_HI"
	expect_summary "$work/a-j$JOBS_HI.log" "$tests"
	j1=() jhi=()
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_seed 1)
		expect_summary "$work/a-j1.log" "$tests"
		j1+=("$t")
		t=$(timed run_seed "$JOBS_HI")
		expect_summary "$work/a-j$JOBS_HI.log" "$tests"
		jhi+=("$t")
		log "(a) run $i: -j1 ${j1[-1]}s  -j$JOBS_HI ${jhi[-1]}s"
	done
	m1=$(median "${j1[@]}") mhi=$(median "${jhi[@]}")
	sp=$(ratio "$m1" "$mhi")
	results+=("$(printf 'core (a) sleep-bound seed corpus (%s tests, %s suites): j1 %.1fs  j%s %.2fs  speedup %sx  (target >= 12x: %s; sleep total %.1fs, longest suite %.2fs, ideal <= %sx)' \
		"$tests" "$suites" "$m1" "$JOBS_HI" "$mhi" "$sp" "$(verdict ge "$sp" 12)" "$total" "$longest" "$bound")")
	results+=("$(printf '         overhead over sleep: j1 %+.1fs (%.1fms/test); j%s %+.2fs over ideal %.2fs' \
		"$(awk -v a="$m1" -v b="$total" 'BEGIN{print a-b}')" "$(awk -v a="$m1" -v b="$total" -v n="$tests" 'BEGIN{print (a-b)*1000/n}')" \
		"$JOBS_HI" "$(awk -v a="$mhi" -v t="$total" -v b="$bound" 'BEGIN{print a-t/b}')" "$(awk -v t="$total" -v b="$bound" 'BEGIN{print t/b}')")")
fi

# --- (b) trivial exec tests: volley -j2 vs xargs -P2 -------------------------
if [[ "${SKIP_B:-}" != 1 ]]; then
	ex=$work/exec
	exec_corpus "$ex" "$NEXEC"
	tests_b=("${exec_tests[@]}")
	printf '%s\n' "${tests_b[@]}" >"$work/exec.list"
	# --protocol exec: the fixture executable is the volley binary, which
	# contains the tml marker, so detection would call every test tml (and
	# count 0 tests). It also skips detection's scan of each binary.
	run_volley() { "$V" test -j2 --protocol exec --no-cache --state-dir "$work/state-b" "${tests_b[@]}" >"$work/b-volley.log" 2>&1; }
	# GNU xargs does not substitute {} in the command name, so each test is
	# exec'd through env(1): one extra exec per test, charged to xargs.
	run_xargs() { xargs -P2 -n1 env <"$work/exec.list" >/dev/null 2>&1; }
	# The cost of that extra exec, to read the ratio against a direct exec.
	run_env() { xargs -P2 -n1 env true <"$work/exec.list" >/dev/null 2>&1; }
	run_true() { xargs -P2 -n1 true <"$work/exec.list" >/dev/null 2>&1; }
	# Warm-up, timed: the first run has an empty state dir, so volley hashes
	# every executable for its cache key (memoized in the state dir after).
	cold=$(timed run_volley)
	expect_summary "$work/b-volley.log" "$NEXEC"
	run_xargs
	log "(b) cold volley run (empty state dir): ${cold}s"
	bv=() bx=() be=() bt=()
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_volley)
		expect_summary "$work/b-volley.log" "$NEXEC"
		bv+=("$t")
		t=$(timed run_xargs)
		bx+=("$t")
		t=$(timed run_env)
		be+=("$t")
		t=$(timed run_true)
		bt+=("$t")
		log "(b) run $i: volley -j2 ${bv[-1]}s  xargs -P2 ${bx[-1]}s"
	done
	mv=$(median "${bv[@]}") mx=$(median "${bx[@]}")
	envcost=$(awk -v e="$(median "${be[@]}")" -v t="$(median "${bt[@]}")" 'BEGIN { d = e - t; if (d < 0) d = 0; printf "%.3f", d }')
	rb=$(ratio "$mv" "$mx")
	rdirect=$(ratio "$mv" "$(awk -v x="$mx" -v e="$envcost" 'BEGIN { print x - e }')")
	results+=("$(printf 'core (b) %s trivial exec tests: volley -j2 %.2fs  xargs -P2 %.2fs  ratio %s  (target <= 1.10: %s)' \
		"$NEXEC" "$mv" "$mx" "$rb" "$(verdict ge 1.10 "$rb")")")
	results+=("$(printf '         xargs execs via env(1), ~%.2fs of its wall; vs a direct exec the ratio would be ~%s; volley overhead %.2fms/test' \
		"$envcost" "$rdirect" "$(awk -v v="$mv" -v x="$mx" -v n="$NEXEC" 'BEGIN { print (v - x) * 2000 / n }')")")
	results+=("$(printf '         cold first volley run (empty --state-dir: hashes every executable): %.2fs' "$cold")")
fi

warn_load
print_results
