#!/usr/bin/env bash
# bench/coverage.sh — the cost of --coverage (issue "Coverage").
#
# On the sleep-bound seed corpus (fixture.Seed shape, tml suites; every test
# has a cover= action, so every process appends the functions it covers to
# its own $TML_COVERAGE_FILE): median wall of
#   volley test --no-cache -j$JOBS --config DIR/volley.toml
# with `--coverage --coverage-output DIR/cov` and without, RUNS each,
# interleaved. Prints the ratio on/off (target <= 1.10) and the number of
# covered functions, checked against the distinct cover= names in the corpus.
#
# Knobs (environment):
#   SCALE=0.5    seed corpus size (1 = 454 suites, 3632 tests)
#   MEAN=20ms    mean test duration (lognormal, sigma 1), slept
#   RUNS=5       timed runs per measurement (median reported)
#   JOBS=16      -j of every run
#   VOLLEY=path  use this volley binary instead of building one
#   KEEP=1       keep the work directory (corpus, logs, coverage reports)
set -euo pipefail

SCALE=${SCALE:-0.5}
MEAN=${MEAN:-20ms}
RUNS=${RUNS:-5}
JOBS=${JOBS:-16}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init coverage
ratio_fmt=%.3f

# --- build ------------------------------------------------------------------
build_volley
build_bench corpus
backdate_volley

watch_cpu
log_start "RUNS=$RUNS"

# --- corpus -----------------------------------------------------------------
seed=$work/seed
seed_corpus "$seed"
suites=$(get suites) tests=$(get tests) total=$(get total)
# Every test line of every spec has a cover= action; the distinct names are
# what the merged report must list.
ntest=$(cat "$seed"/*_test.fixture | grep -c '^[[:space:]]*test')
ncover=$(cat "$seed"/*_test.fixture | grep -c '^[[:space:]]*test.*cover=')
((ntest == tests && ncover == tests)) || die "corpus: $ntest test lines, $ncover with cover=, want $tests"
want_fns=$(grep -oh 'cover=[^ ]*' "$seed"/*_test.fixture | cut -d= -f2 | tr ',' '\n' | sort -u | wc -l)
log "corpus: $suites suites, $tests tests (each with cover=), sleep total ${total}s, $want_fns distinct covered functions"
sleep 2 # let the corpus files' ctimes age past volley's 2s hash-memo window

cov=$seed/cov
run_off() { "$V" test --config "$seed/volley.toml" --no-cache -j"$JOBS" --state-dir "$work/state" >"$work/off.log" 2>&1; }
run_on() { "$V" test --config "$seed/volley.toml" --no-cache -j"$JOBS" --state-dir "$work/state" --coverage --coverage-output "$cov" >"$work/on.log" 2>&1; }

# Warm-up (untimed): hashes the executables and records the history the
# smart order uses, so both variants start from the same state.
run_off
expect_summary "$work/off.log" "$tests"
run_on
expect_summary "$work/on.log" "$tests"

off=() on=()
for ((i = 1; i <= RUNS; i++)); do
	t=$(timed run_off)
	expect_summary "$work/off.log" "$tests"
	off+=("$t")
	t=$(timed run_on)
	expect_summary "$work/on.log" "$tests"
	on+=("$t")
	log "run $i: off ${off[-1]}s  on ${on[-1]}s"
done

fns=$(wc -l <"$cov/covered_functions.txt")
said=$(sed -n 's/^coverage: \([0-9]*\) functions covered.*/\1/p' "$work/on.log" | tail -n1)
[[ "$fns" == "$want_fns" ]] || die "covered_functions.txt lists $fns functions, the corpus covers $want_fns"
[[ -z "$said" || "$said" == "$fns" ]] || die "volley said $said functions covered, covered_functions.txt lists $fns"

moff=$(median "${off[@]}") mon=$(median "${on[@]}")
r=$(ratio "$mon" "$moff")
results=()
results+=("$(printf 'coverage seed corpus (%s tests, %s suites, sleep total %.1fs) -j%s: off %.2fs  on %.2fs  ratio on/off %s  (target <= 1.10: %s)' \
	"$tests" "$suites" "$total" "$JOBS" "$moff" "$mon" "$r" "$(verdict le "$r" 1.10)")")
results+=("$(printf '         covered functions: %s (= distinct cover= names in the corpus); +%.0fms per run, %.2fms per process' \
	"$fns" "$(awk -v a="$mon" -v b="$moff" 'BEGIN { print (a - b) * 1000 }')" "$(awk -v a="$mon" -v b="$moff" -v n="$suites" 'BEGIN { print (a - b) * 1000 / n }')")")

warn_cpu
print_results
