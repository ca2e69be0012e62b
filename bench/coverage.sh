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

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/volley-bench-coverage.XXXXXX")
cleanup() { if [[ "${KEEP:-}" == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }
die() { log "coverage.sh: $*"; exit 1; }

# --- build ------------------------------------------------------------------
if [[ -n "${VOLLEY:-}" ]]; then
	cp "$VOLLEY" "$work/volley"
else
	(cd "$root" && go build -o "$work/volley" ./cmd/volley) || die "build volley failed"
fi
(cd "$root" && go build -o "$work/corpus" ./bench/corpus) || die "build bench/corpus failed"
V=$work/volley
# Volley memoizes an executable's hash once its mtime and ctime are 2s old.
touch -d '-1 minute' "$V"

# --- helpers ----------------------------------------------------------------
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
timed() {
	local t0 t1
	t0=$(now)
	"$@" || die "command failed ($?): $*"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# cpu_busy: seconds of CPU the whole machine has spent busy (user, nice,
# system, irq, softirq, steal), from /proc/stat.
cpu_busy() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' /proc/stat; }
# cpu_own: sets $own to the CPU seconds of this shell and every descendant it
# has waited for (bash's times: volley, its tests, servers). Not in a $(...):
# a subshell's times are its own.
cpu_own() {
	times >"$work/times"
	own=$(awk '{ for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); s += t[1] * 60 + t[2] } } END { printf "%.2f", s }' "$work/times")
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
verdict() { if "$@"; then printf 'ok'; else printf 'MISSED'; fi; }
expect_summary() {
	grep -qx "volley: $2 passed, 0 failed, 0 skipped" "$1" ||
		die "unexpected volley summary in $1 (want $2 passed): $(grep -m1 '^volley:' "$1" || tail -n3 "$1")"
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
# Other work during the measurements: the machine's busy CPU minus ours.
t_start=$(now) busy_start=$(cpu_busy)
cpu_own
own_start=$own
log "coverage.sh: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), RUNS=$RUNS, work $work"

# --- corpus -----------------------------------------------------------------
seed=$work/seed
shape=$("$work/corpus" -exe "$V" -kind seed -out "$seed" -scale "$SCALE" -mean "$MEAN" -stats)
get() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$shape"; }
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

# Other work: CPU the machine spent beyond this script's own processes
# (the load average cannot tell: the runs themselves raise it).
cpu_own
other=$(awk -v b0="$busy_start" -v b1="$(cpu_busy)" -v o0="$own_start" -v o1="$own" 'BEGIN { d = (b1 - b0) - (o1 - o0); printf "%.1f", d < 0 ? 0 : d }')
wall=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
log "other work during the ${wall}s measured: ${other}s of CPU (this script's own: $(awk -v a="$own_start" -v b="$own" 'BEGIN { printf "%.1f", b - a }')s)"
if awk -v a="$load_start" -v n="$(nproc)" -v o="$other" -v w="$wall" 'BEGIN { exit !(a > n / 2 || o > 0.1 * w) }'; then
	results+=("warning: load average $load_start at the start on $(nproc) CPUs; other work took ${other}s of CPU during the ${wall}s measured: the numbers are noisy")
fi
echo
printf '%s\n' "${results[@]}"
