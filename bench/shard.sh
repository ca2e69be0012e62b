#!/usr/bin/env bash
# bench/shard.sh — how evenly --partition splits a run into shards.
#
# On the CPU-bound seed corpus (fixture.Seed shape, tml suites, cpu= tests):
#   1. run the whole corpus once (-j$JOBS) to record its history;
#   2. run the 4 shards time:K/4 one after another (-j$JOBS, --no-cache),
#      each on its own copy of that history, as 4 CI machines would;
#   3. the same with hash:K/4.
# Prints, per strategy, each shard's makespan (the run's wall from volley's
# event log: first test start to last test end) and its process wall
# (makespan plus start-up, planning, hashing executables for the cache key,
# writing reports), and the spread (max-min)/max of each; also each shard's
# CPU time, the work it was given, which other load on the machine hardly
# changes. Target: time shards' makespans within 10% of each other. Shards are checked
# to add up to the corpus (summed summaries, and `volley merge` when this
# volley has it).
#
# Knobs (environment):
#   SCALE=0.5   corpus size (1 = 454 suites, 3632 tests)
#   MEAN=20ms   mean test duration (lognormal, sigma 1), burnt as CPU
#   JOBS=2      -j of every run
#   SHARDS=4    N of K/N
#   VOLLEY=path use this volley binary instead of building one
#   KEEP=1      keep the work directory
set -euo pipefail

SCALE=${SCALE:-0.5}
MEAN=${MEAN:-20ms}
JOBS=${JOBS:-2}
SHARDS=${SHARDS:-4}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init shard

build_volley
build_bench corpus

# timed_log LOG CMD...: runs CMD with its output in LOG, prints its wall
# seconds; exit 1 (a failing test) is fine, anything else is not.
timed_log() {
	local log=$1 t0 t1 rc=0
	shift
	t0=$(now)
	"$@" >"$log" 2>&1 || rc=$?
	t1=$(now)
	((rc == 0 || rc == 1)) || die "command failed ($rc): $*"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# spread X...: (max-min)/max, in percent.
spread() { printf '%s\n' "$@" | awk 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 } END { printf "%.1f", (hi - lo) * 100 / hi }'; }
# passed LOG: the N of "volley: N passed, ..." in LOG.
passed() { sed -n 's/^volley: \([0-9]*\) passed, .*/\1/p' "$1" | tail -n1; }

seed=$work/seed
seed_corpus "$seed" -cpu
tests=$(get tests)
log "shard.sh: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); corpus $(get suites) suites, $tests tests, cpu total $(get total)s, longest suite $(get longest)s; -j$JOBS, $SHARDS shards"

# 1. The whole corpus once, to record the history every shard starts from.
base=$work/base
t=$(timed_log "$work/whole.log" "$V" test --config "$seed/volley.toml" -j"$JOBS" --no-cache --format plain --state-dir "$base")
[[ "$(passed "$work/whole.log")" == "$tests" ]] || die "whole run: $(grep -m1 '^volley:' "$work/whole.log")"
log "whole corpus -j$JOBS: ${t}s (history recorded)"
results=("$(printf 'shard whole corpus (%s tests) -j%s: %.2fs; ideal shard %.2fs' "$tests" "$JOBS" "$t" "$(awk -v t="$t" -v n="$SHARDS" 'BEGIN { print t / n }')")")

has_merge=0
"$V" merge --help >/dev/null 2>&1 && has_merge=1

for strategy in time hash; do
	walls=() spans=() cpus=() dirs=() sum=0
	for ((k = 1; k <= SHARDS; k++)); do
		state=$work/state-$strategy-$k out=$work/out-$strategy-$k
		mkdir -p "$state"
		cp "$base/history.json" "$state/"
		t=$(timed_log "$work/$strategy-$k.log" "$V" test --config "$seed/volley.toml" -j"$JOBS" --no-cache --format plain \
			--state-dir "$state" --partition "$strategy:$k/$SHARDS" --output-dir "$out")
		n=$(passed "$work/$strategy-$k.log")
		[[ -n "$n" ]] || die "$strategy:$k/$SHARDS: no summary: $(tail -n3 "$work/$strategy-$k.log")"
		sum=$((sum + n))
		m=$(makespan "$out/events.json") c=$(cpusecs "$out/events.json")
		walls+=("$t") spans+=("$m") cpus+=("$c") dirs+=("$out")
		log "$strategy:$k/$SHARDS: makespan ${m}s, process ${t}s, cpu ${c}s, $n tests"
	done
	((sum == tests)) || die "$strategy shards ran $sum tests, the corpus has $tests"
	if ((has_merge)); then
		"$V" merge -o "$work/merged-$strategy" "${dirs[@]}" >"$work/merge-$strategy.log" 2>&1 ||
			die "$strategy: volley merge failed: $(cat "$work/merge-$strategy.log")"
		grep -qx "volley: $tests passed, 0 failed, 0 skipped" "$work/merge-$strategy.log" ||
			die "$strategy: merged summary: $(grep -m1 '^volley:' "$work/merge-$strategy.log")"
	fi
	sm=$(spread "${spans[@]}") sw=$(spread "${walls[@]}")
	line=$(printf 'shard %-4s K/%s makespan:' "$strategy" "$SHARDS")
	for w in "${spans[@]}"; do line+=$(printf ' %.2fs' "$w"); done
	line+=$(printf '  spread %s%%' "$sm")
	if [[ $strategy == time ]]; then
		line+=$(awk -v s="$sm" 'BEGIN { printf "  (target <= 10%%: %s)", s <= 10 ? "ok" : "MISSED" }')
	fi
	line+=$'\n''           process wall:'
	for w in "${walls[@]}"; do line+=$(printf ' %.2fs' "$w"); done
	line+=$(printf '  spread %s%%' "$sw")
	line+=$'\n''           cpu (work):  '
	for w in "${cpus[@]}"; do line+=$(printf ' %.2fs' "$w"); done
	line+=$(printf '  spread %s%%' "$(spread "${cpus[@]}")")
	((has_merge)) && line+="  merged: $tests passed"
	results+=("$line")
done

print_results
