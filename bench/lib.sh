# bench/lib.sh — helpers shared by the bench/*.sh scripts. Source it, then
# call bench_init NAME first:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init core    # messages say "core.sh:", work dir volley-bench-core.*
#
# Only functions are defined here; nothing runs on source.

# bench_init NAME: sets $bench (NAME.sh, for messages), $root (the repo) and
# $work (a fresh temporary directory, removed on exit unless KEEP=1).
bench_init() {
	bench=$1.sh
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	work=$(mktemp -d "${TMPDIR:-/tmp}/volley-bench-$1.XXXXXX")
	trap bench_cleanup EXIT
}
# bench_cleanup: the EXIT trap; runs the script's on_cleanup first when it
# defines one (e.g. to stop a server), then removes or keeps $work.
bench_cleanup() {
	if declare -F on_cleanup >/dev/null; then on_cleanup; fi
	if [[ "${KEEP:-}" == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
# log MSG...: a line to stderr.
log() { printf '%s\n' "$*" >&2; }
# die MSG...: logs "NAME.sh: MSG" and exits 1.
die() { log "$bench: $*"; exit 1; }

# build_volley: our own copy of volley in $work/volley (a shared /tmp/volley
# may be rebuilt by someone else mid-run), from $VOLLEY or built; sets $V.
build_volley() {
	if [[ -n "${VOLLEY:-}" ]]; then
		cp "$VOLLEY" "$work/volley"
	else
		(cd "$root" && go build -o "$work/volley" ./cmd/volley) || die "build volley failed"
	fi
	V=$work/volley
}
# build_bench TOOL...: builds ./bench/TOOL into $work/TOOL (corpus, reapiserver).
build_bench() {
	local t
	for t; do
		(cd "$root" && go build -o "$work/$t" "./bench/$t") || die "build bench/$t failed"
	done
}
# backdate_volley: volley memoizes an executable's hash (its cache key) only
# once the file's mtime and ctime are 2s old; the corpora link to $V.
# Backdate its mtime (the caller lets the ctime age).
backdate_volley() { touch -d '-1 minute' "$V"; }

# seed_corpus DIR [FLAGS...]: the seed corpus of $SCALE and $MEAN in DIR
# (FLAGS e.g. -cpu); sets $shape to its `corpus -stats` line.
seed_corpus() {
	local dir=$1
	shift
	shape=$("$work/corpus" -exe "$V" -kind seed -out "$dir" -scale "$SCALE" -mean "$MEAN" "$@" -stats)
}
# get KEY: the KEY=VALUE field of $shape (suites tests total longest
# longest_suite longest_tests).
get() { sed -n "s/.*\<$1=\([^ ]*\).*/\1/p" <<<"$shape"; }
# exec_corpus DIR N: N trivial exec tests in DIR; sets the array $exec_tests
# (the t[0-9]... glob excludes the .fixture sidecars, not executable).
exec_corpus() {
	"$work/corpus" -exe "$V" -kind exec -out "$1" -n "$2"
	shopt -s nullglob
	exec_tests=("$1"/t[0-9][0-9][0-9][0-9])
	shopt -u nullglob
	((${#exec_tests[@]} == $2)) || die "exec corpus has ${#exec_tests[@]} tests, want $2"
}

# now: seconds since the epoch, microseconds (bash 5 $EPOCHREALTIME).
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# timed CMD...: runs CMD, prints its wall seconds; fails if CMD fails.
timed() {
	local t0 t1
	t0=$(now)
	"$@" || die "command failed ($?): $*"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# median X...: the median of the numbers.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio A B: A/B, printed with $ratio_fmt (default %.2f).
ratio() { awk -v a="$1" -v b="$2" -v f="${ratio_fmt:-%.2f}" 'BEGIN { printf f, a / b }'; }
# ge A B: true when A >= B (numbers).
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
# le A B: true when A <= B (numbers).
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
# verdict CMD...: prints ok when CMD succeeds (e.g. `verdict le X 1.1`), else MISSED.
verdict() { if "$@"; then printf 'ok'; else printf 'MISSED'; fi; }
# expect_summary LOG N: the run's summary says N passed, 0 failed.
expect_summary() {
	grep -qx "volley: $2 passed, 0 failed, 0 skipped" "$1" ||
		die "unexpected volley summary in $1 (want $2 passed): $(grep -m1 '^volley:' "$1" || tail -n3 "$1")"
}
# makespan EVENTS: volley's run wall in seconds (first launch to last
# result), from the "wall_ms" of the --json event log's last line.
makespan() { grep -o '"wall_ms":[0-9]*' "$1" | tail -n1 | awk -F: '{ printf "%.3f", $2 / 1000 }'; }
# cpusecs EVENTS: the CPU seconds of the run's test processes, from the same line.
cpusecs() { grep -o '"run":{[^}]*' "$1" | grep -o '"cpu_ms":[0-9]*' | tail -n1 | awk -F: '{ printf "%.3f", $2 / 1000 }'; }

# log_start EXTRA: the opening line, "NAME.sh: N CPUs, load L, EXTRA, work DIR".
log_start() { log "$bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $1, work $work"; }
# watch_load: notes the load average at the start ($load_start).
watch_load() { load_start=$(cut -d' ' -f1 /proc/loadavg); }
# warn_load: appends a warning to $results when the load average at the
# start or now is above half the CPUs.
warn_load() {
	local load_end
	load_end=$(cut -d' ' -f1 /proc/loadavg)
	if awk -v a="$load_start" -v b="$load_end" -v n="$(nproc)" 'BEGIN { exit !(a > n / 2 || b > n / 2) }'; then
		results+=("warning: load average was $load_start at the start and $load_end at the end on $(nproc) CPUs: other work competed, the numbers are noisy")
	fi
}
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
# watch_cpu: notes the load average, the time, the machine's busy CPU and
# our own CPU at the start, to tell other work during the measurements.
watch_cpu() {
	watch_load
	t_start=$(now) busy_start=$(cpu_busy)
	cpu_own
	own_start=$own
}
# warn_cpu: logs the CPU the machine spent beyond this script's own
# processes since watch_cpu (the load average cannot tell: the runs
# themselves raise it); appends a warning to $results when it was over 10%
# of the wall or the start load was above half the CPUs.
warn_cpu() {
	local other wall
	cpu_own
	other=$(awk -v b0="$busy_start" -v b1="$(cpu_busy)" -v o0="$own_start" -v o1="$own" 'BEGIN { d = (b1 - b0) - (o1 - o0); printf "%.1f", d < 0 ? 0 : d }')
	wall=$(awk -v a="$t_start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	log "other work during the ${wall}s measured: ${other}s of CPU (this script's own: $(awk -v a="$own_start" -v b="$own" 'BEGIN { printf "%.1f", b - a }')s)"
	if awk -v a="$load_start" -v n="$(nproc)" -v o="$other" -v w="$wall" 'BEGIN { exit !(a > n / 2 || o > 0.1 * w) }'; then
		results+=("warning: load average $load_start at the start on $(nproc) CPUs; other work took ${other}s of CPU during the ${wall}s measured: the numbers are noisy")
	fi
}
# print_results: a blank line, then the $results lines on stdout.
print_results() {
	echo
	printf '%s\n' "${results[@]}"
}
