#!/usr/bin/env bash
# bench/cache.sh — what memory of past runs buys (issue "Memory of past runs").
#
#   (a) result cache, sleep-bound seed corpus: a full run from a fresh
#       --state-dir (recording results), then the unchanged rerun with the
#       cache on; median walls of RUNS such pairs, and rerun/full.
#       Target: rerun <= 3% of the full run.
#   (b) history ordering, CPU-bound seed corpus (cpu= tests), -j2: the
#       makespan with NO history (a fresh --state-dir each run, --order name)
#       and WITH history (after one recording run; default smart order, i.e.
#       longest expected first = LPT), each over the lower bound
#       max(total CPU / JOBS_B, longest suite) from `corpus -stats` (a tml
#       suite runs its tests one after another in one process).
#       Target: with history <= 1.05x the bound.
#
# Makespan is volley's own run wall (the "wall_ms" of the last --json event:
# first launch to last result), which leaves out start-up and hashing the
# executables for the cache key; process walls are printed too.
#
# Knobs (environment):
#   SCALE=0.5    seed corpus size of (a) and (b) (1 = 454 suites, 3632 tests)
#   MEAN=20ms    mean test duration (lognormal, sigma 1)
#   RUNS=3       timed runs per measurement (median reported)
#   JOBS_A=16    -j of (a)
#   JOBS_B=2     -j of (b), and the cores the bound divides by
#   VOLLEY=path  use this volley binary instead of building one
#   KEEP=1       keep the work directory (corpora, logs, state dirs)
#   SKIP_A=1 / SKIP_B=1  skip a part
set -euo pipefail

SCALE=${SCALE:-0.5}
MEAN=${MEAN:-20ms}
RUNS=${RUNS:-3}
JOBS_A=${JOBS_A:-16}
JOBS_B=${JOBS_B:-2}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init cache
ratio_fmt=%.3f

# --- build ------------------------------------------------------------------
build_volley
build_bench corpus
backdate_volley

watch_cpu
log_start "RUNS=$RUNS"
results=()

# --- (a) result cache: full run vs unchanged rerun ----------------------------
if [[ "${SKIP_A:-}" != 1 ]]; then
	seed=$work/seed
	seed_corpus "$seed"
	tests=$(get tests) suites=$(get suites)
	log "(a) corpus: $suites suites, $tests tests, sleep total $(get total)s"
	sleep 2 # the corpus files' ctimes age past volley's hash-memo window
	run_a() { "$V" test --config "$seed/volley.toml" -j"$JOBS_A" --state-dir "$1" >"$work/a-$2.log" 2>&1; }
	full=() rerun=()
	for ((i = 1; i <= RUNS; i++)); do
		st=$work/state-a-$i # fresh: nothing recorded, nothing cached
		t=$(timed run_a "$st" full)
		expect_summary "$work/a-full.log" "$tests"
		grep -q 'cached$' "$work/a-full.log" && die "(a) the full run from a fresh state dir hit the cache"
		full+=("$t")
		t=$(timed run_a "$st" rerun)
		expect_summary "$work/a-rerun.log" "$tests"
		grep -q ", $tests cached\$" "$work/a-rerun.log" || die "(a) the rerun did not take all $tests tests from the cache: $(tail -n1 "$work/a-rerun.log")"
		rerun+=("$t")
		log "(a) run $i: full ${full[-1]}s  rerun ${rerun[-1]}s"
	done
	mf=$(median "${full[@]}") mr=$(median "${rerun[@]}")
	pct=$(awk -v a="$mr" -v b="$mf" 'BEGIN { printf "%.1f", a * 100 / b }')
	results+=("$(printf 'cache (a) seed corpus (%s tests, %s suites) -j%s: full %.2fs  unchanged rerun %.3fs  rerun/full %s%%  (target <= 3%%: %s)' \
		"$tests" "$suites" "$JOBS_A" "$mf" "$mr" "$pct" "$(verdict le "$pct" 3)")")
fi

# --- (b) history ordering: makespan without and with history ----------------
if [[ "${SKIP_B:-}" != 1 ]]; then
	cpu=$work/cpu
	seed_corpus "$cpu" -cpu
	tests=$(get tests) total=$(get total) longest=$(get longest)
	# longest is the longest suite's CPU sum (longest_suite is its name).
	bound=$(awk -v t="$total" -v l="$longest" -v j="$JOBS_B" 'BEGIN { w = t / j; if (l > w) w = l; printf "%.3f", w }')
	log "(b) corpus: $(get suites) suites, $tests tests, cpu total ${total}s, longest suite ${longest}s ($(get longest_suite)); bound at -j$JOBS_B ${bound}s"
	sleep 2
	run_b() { # STATE TAG [FLAGS...]
		local st=$1 tag=$2
		shift 2
		"$V" test --config "$cpu/volley.toml" --no-cache -j"$JOBS_B" --state-dir "$st" --json "$work/b-$tag.json" "$@" >"$work/b-$tag.log" 2>&1
	}
	hist=$work/state-b-hist
	t=$(timed run_b "$hist" record)
	expect_summary "$work/b-record.log" "$tests"
	log "(b) recording run (smart order, no history yet): ${t}s, makespan $(makespan "$work/b-record.json")s"
	nh=() nhw=() wh=() whw=() cpus=()
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_b "$work/state-b-none-$i" none --order name)
		expect_summary "$work/b-none.log" "$tests"
		nh+=("$(makespan "$work/b-none.json")") nhw+=("$t")
		t=$(timed run_b "$hist" hist)
		expect_summary "$work/b-hist.log" "$tests"
		wh+=("$(makespan "$work/b-hist.json")") whw+=("$t") cpus+=("$(cpusecs "$work/b-hist.json")" "$(cpusecs "$work/b-none.json")")
		log "(b) run $i: no history ${nh[-1]}s (process ${nhw[-1]}s)  with history ${wh[-1]}s (process ${whw[-1]}s)"
	done
	mn=$(median "${nh[@]}") mh=$(median "${wh[@]}")
	rn=$(ratio "$mn" "$bound") rh=$(ratio "$mh" "$bound")
	results+=("$(printf 'cache (b) cpu-bound seed corpus (%s tests) -j%s, bound max(%.1fs/%s, %.2fs) = %.2fs: makespan no history (--order name) %.2fs = %sx  with history (smart) %.2fs = %sx  (target <= 1.05x: %s)' \
		"$tests" "$JOBS_B" "$total" "$JOBS_B" "$longest" "$bound" "$mn" "$rn" "$mh" "$rh" "$(verdict le "$rh" 1.05)")")
	mc=$(median "${cpus[@]}")
	results+=("$(printf '         process walls: no history %.2fs  with history %.2fs; measured CPU of the test processes %.1fs (max(cpu/%s, longest) = %.2fs: with history %sx of that)' \
		"$(median "${nhw[@]}")" "$(median "${whw[@]}")" "$mc" "$JOBS_B" \
		"$(awk -v c="$mc" -v l="$longest" -v j="$JOBS_B" 'BEGIN { w = c / j; if (l > w) w = l; print w }')" \
		"$(awk -v c="$mc" -v l="$longest" -v j="$JOBS_B" -v m="$mh" 'BEGIN { w = c / j; if (l > w) w = l; printf "%.3f", m / w }')")")
fi

warn_cpu
print_results
