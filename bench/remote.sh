#!/usr/bin/env bash
# bench/remote.sh — the cost of running on a Remote Execution API service
# (issue "Remote execution"), against the in-repo test server
# (bench/reapiserver: internal/remote/reapitest on loopback, in-memory CAS,
# actions run in temporary directories on this machine).
#
# Two corpora, each with a fresh server:
#   seed  the sleep-bound seed corpus, small (SCALE=0.1: 45 tml suites, one
#         remote action per suite);
#   exec  NEXEC trivial exec tests (one action per test), run through a
#         volley.toml written beside them:
#           [[suite]] name="exec" protocol="exec"
#           paths=["t[0-9][0-9][0-9][0-9]"] inputs=["{name}.fixture"]
#         (the .fixture sidecars are not executables, and the remote side
#         needs each test's sidecar as an input; tests given on the command
#         line would have no config inputs).
# For each:
#   - bytes uploaded by the first remote run (the volley binary the tests
#     link to, the sidecars, commands and trees) and by a second run with
#     nothing changed (each run is a fresh volley process; the server's CAS
#     already has everything, so ~0), from volley's -v line
#     "volley: remote: N actions, B bytes in K blobs uploaded, ...";
# and a third, faults: NFAULT tml suites of 5 tests (each with a SIGSEGV, a
# hang or a failing test) and 2*NFAULT exec tests (pass, fail, SIGSEGV,
# hang), --timeout 2s, run local -j$JOBS against remote --remote-jobs $JOBS
# (equal concurrency): median walls and whether the summaries agree.
#   - median walls of RUNS interleaved runs, local `-j$JOBS` vs remote
#     `--remote URL --remote-jobs $REMOTE_JOBS`, and the per-unit overhead
#     (remote wall - local wall) / units, a unit being one remote action
#     (one process); the timed remote runs find every blob already in the CAS.
# Every run is --no-cache (the local result cache would skip the suites) with
# a --state-dir of its own per mode.
#
# Knobs (environment):
#   SCALE=0.1        seed corpus size (1 = 454 suites, 3632 tests)
#   MEAN=20ms        mean test duration of the seed corpus (lognormal), slept
#   NEXEC=200        exec tests
#   RUNS=3           timed runs per measurement (median reported)
#   JOBS=8           local -j
#   REMOTE_JOBS=8    remote actions in flight
#   SERVER_TMPDIR=/dev/shm  where the server stages each action's inputs
#                    (its $TMPDIR; default /dev/shm when writable, else
#                    ${TMPDIR:-/tmp}). Every action gets its own copy of its
#                    inputs, the ~23 MB volley binary included: on a disk
#                    that write-back dominates and makes the runs erratic.
#   VOLLEY=path      use this volley binary instead of building one
#   KEEP=1           keep the work directory
#   NFAULT=10        tml suites of the fault corpus (and twice as many exec tests)
#   SKIP_SEED=1 / SKIP_EXEC=1 / SKIP_FAULTS=1  skip a corpus
set -euo pipefail

SCALE=${SCALE:-0.1}
MEAN=${MEAN:-20ms}
NEXEC=${NEXEC:-200}
NFAULT=${NFAULT:-10}
RUNS=${RUNS:-3}
JOBS=${JOBS:-8}
REMOTE_JOBS=${REMOTE_JOBS:-8}
if [[ -z "${SERVER_TMPDIR:-}" ]]; then
	SERVER_TMPDIR=${TMPDIR:-/tmp}
	[[ -d /dev/shm && -w /dev/shm ]] && SERVER_TMPDIR=/dev/shm
fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init remote
srv_pid=
on_cleanup() { stop_server; }

# --- build ------------------------------------------------------------------
build_volley
build_bench corpus reapiserver
backdate_volley

# remote_stat LOG FIELD: from "volley: remote: N actions, B bytes in K blobs
# uploaded, ...": actions, bytes or blobs.
remote_stat() {
	local line
	line=$(grep -m1 '^volley: remote: ' "$1") || die "no 'volley: remote:' line in $1 (run with -v)"
	case $2 in
	actions) sed 's/^volley: remote: \([0-9]*\) actions.*/\1/' <<<"$line" ;;
	bytes) sed 's/.* actions, \([0-9]*\) bytes in .*/\1/' <<<"$line" ;;
	blobs) sed 's/.* bytes in \([0-9]*\) blobs uploaded.*/\1/' <<<"$line" ;;
	esac
}

# start_server: a fresh reapiserver (empty CAS) on loopback; sets $url. It
# serves until its stdin (our fd $srv_in) closes.
start_server() {
	local fifo_in=$work/srv.in fifo_out=$work/srv.out
	rm -f "$fifo_in" "$fifo_out"
	mkfifo "$fifo_in" "$fifo_out"
	TMPDIR=$SERVER_TMPDIR "$work/reapiserver" <"$fifo_in" >"$fifo_out" 2>>"$work/reapiserver.log" &
	srv_pid=$!
	exec {srv_in}>"$fifo_in"
	exec {srv_out}<"$fifo_out"
	IFS= read -r -t 30 url <&"$srv_out" || die "reapiserver printed no URL: $(cat "$work/reapiserver.log")"
	[[ $url == grpc://127.0.0.1:* ]] || die "reapiserver printed $url"
}
stop_server() {
	[[ -n "$srv_pid" ]] || return 0
	exec {srv_in}>&- {srv_out}<&-
	local i
	for ((i = 0; i < 100; i++)); do kill -0 "$srv_pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$srv_pid" 2>/dev/null && kill -TERM "$srv_pid"
	wait "$srv_pid" 2>/dev/null || true
	srv_pid=
}

# stage_ms: what staging the binary costs the server per action (a copy
# into SERVER_TMPDIR), to read the per-unit overhead against.
stage_ms() {
	local d t
	d=$(mktemp -d "$SERVER_TMPDIR/volley-bench-stage.XXXXXX")
	t=$(timed bash -c 'for i in 1 2 3 4 5 6 7 8 9 10; do cp "$1" "$2/v$i"; done' _ "$V" "$d")
	rm -rf "$d"
	awk -v t="$t" 'BEGIN { printf "%.1f", t * 100 }'
}

watch_cpu
log_start "RUNS=$RUNS"
results=()

# measure NAME CONFIG TESTS: the first/second-run uploads and the timed
# local/remote runs of the suites of CONFIG; appends to results.
measure() {
	local name=$1 config=$2 tests=$3
	start_server
	log "$name: reapiserver at $url"
	run_remote() { "$V" test --config "$config" --no-cache -v --state-dir "$work/state-$name-remote" --remote "$url" --remote-jobs "$REMOTE_JOBS" >"$work/$name-remote.log" 2>&1; }
	run_local() { "$V" test --config "$config" --no-cache -v --state-dir "$work/state-$name-local" -j"$JOBS" >"$work/$name-local.log" 2>&1; }
	local first second b1 b2 k1 k2 units
	first=$(timed run_remote)
	expect_summary "$work/$name-remote.log" "$tests"
	b1=$(remote_stat "$work/$name-remote.log" bytes) k1=$(remote_stat "$work/$name-remote.log" blobs)
	units=$(remote_stat "$work/$name-remote.log" actions)
	second=$(timed run_remote)
	expect_summary "$work/$name-remote.log" "$tests"
	b2=$(remote_stat "$work/$name-remote.log" bytes) k2=$(remote_stat "$work/$name-remote.log" blobs)
	log "$name: first remote run ${first}s uploaded $b1 bytes in $k1 blobs; second ${second}s uploaded $b2 bytes in $k2 blobs"
	run_local # warm-up: hashes, history
	expect_summary "$work/$name-local.log" "$tests"
	local loc=() rem=() t i
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_local)
		expect_summary "$work/$name-local.log" "$tests"
		loc+=("$t")
		t=$(timed run_remote)
		expect_summary "$work/$name-remote.log" "$tests"
		rem+=("$t")
		log "$name run $i: local -j$JOBS ${loc[-1]}s  remote ${rem[-1]}s"
	done
	stop_server
	local ml mr
	ml=$(median "${loc[@]}") mr=$(median "${rem[@]}")
	results+=("$(printf 'remote %-4s (%s tests, %s actions): local -j%s %.2fs  remote (--remote-jobs %s) %.2fs  overhead %.1fms per unit (%.1fms per test)' \
		"$name" "$tests" "$units" "$JOBS" "$ml" "$REMOTE_JOBS" "$mr" \
		"$(awk -v r="$mr" -v l="$ml" -v n="$units" 'BEGIN { print (r - l) * 1000 / n }')" \
		"$(awk -v r="$mr" -v l="$ml" -v n="$tests" 'BEGIN { print (r - l) * 1000 / n }')")")
	results+=("$(printf '            uploaded: first run %s bytes in %s blobs (%.1f MB; %.2fs)  second run, nothing changed: %s bytes in %s blobs' \
		"$b1" "$k1" "$(awk -v b="$b1" 'BEGIN { print b / 1e6 }')" "$first" "$b2" "$k2")")
}

# --- seed corpus --------------------------------------------------------------
if [[ "${SKIP_SEED:-}" != 1 ]]; then
	seed=$work/seed
	seed_corpus "$seed"
	tests=$(get tests)
	log "seed corpus: $shape"
	sleep 2 # the corpus files' ctimes age past volley's hash-memo window
	measure seed "$seed/volley.toml" "$tests"
fi

# --- exec corpus ----------------------------------------------------------------
if [[ "${SKIP_EXEC:-}" != 1 ]]; then
	ex=$work/exec
	exec_corpus "$ex" "$NEXEC"
	cat >"$ex/volley.toml" <<-'TOML'
		[[suite]]
		name = "exec"
		protocol = "exec"
		paths = ["t[0-9][0-9][0-9][0-9]"]
		inputs = ["{name}.fixture"]
	TOML
	sleep 2
	measure exec "$ex/volley.toml" "$NEXEC"
fi

# --- fault corpus ---------------------------------------------------------------
# fixture DIR NAME SPEC: a fixture suite, a link to volley with its spec beside.
fixture() { ln -sf "$V" "$1/$2" && printf '%b' "$3" >"$1/$2.fixture"; }
if [[ "${SKIP_FAULTS:-}" != 1 ]]; then
	fd=$work/faults
	mkdir -p "$fd"
	for ((i = 0; i < NFAULT; i++)); do
		case $((i % 3)) in
		0) bad="test hang" ;;
		1) bad="test crash=SIGSEGV" ;;
		2) bad="test fail" ;;
		esac
		fixture "$fd" "$(printf s%02d "$i")" "protocol tml\ntest pass\ntest pass\n$bad\ntest pass\ntest pass\n"
	done
	for ((i = 0; i < 2 * NFAULT; i++)); do
		case $((i % 4)) in
		0) spec="test pass" ;;
		1) spec="test fail" ;;
		2) spec="test crash=SIGSEGV" ;;
		3) spec="test hang" ;;
		esac
		fixture "$fd" "$(printf e%02d "$i")" "$spec\n"
	done
	cat >"$fd/volley.toml" <<-'TOML'
		[[suite]]
		name = "tml"
		protocol = "tml"
		paths = ["s[0-9][0-9]"]
		inputs = ["{name}.fixture"]
		[[suite]]
		name = "exec"
		protocol = "exec"
		paths = ["e[0-9][0-9]"]
		inputs = ["{name}.fixture"]
	TOML
	sleep 2
	start_server
	log "faults: reapiserver at $url"
	fl() { "$V" test --config "$fd/volley.toml" --no-cache -v --timeout 2s --grace 200ms --state-dir "$work/state-f-local" -j"$JOBS" >"$work/faults-local.log" 2>&1 || [[ $? == 1 ]]; }
	fr() { "$V" test --config "$fd/volley.toml" --no-cache -v --timeout 2s --grace 200ms --state-dir "$work/state-f-remote" --remote "$url" --remote-jobs "$JOBS" >"$work/faults-remote.log" 2>&1 || [[ $? == 1 ]]; }
	fr # uploads
	loc=() rem=()
	for ((i = 1; i <= RUNS; i++)); do
		loc+=("$(timed fl)")
		rem+=("$(timed fr)")
		log "faults run $i: local -j$JOBS ${loc[-1]}s  remote ${rem[-1]}s"
	done
	stop_server
	sl=$(grep '^volley: [0-9]* passed' "$work/faults-local.log") sr=$(grep '^volley: [0-9]* passed' "$work/faults-remote.log")
	verdicts() { grep -E '^(PASS|FAIL|CRASH|TIMEOUT|ERROR|SKIP) ' "$1" | awk '{ print $1, $2 }' | sort; }
	same=$(verdict cmp -s <(verdicts "$work/faults-local.log") <(verdicts "$work/faults-remote.log"))
	ml=$(median "${loc[@]}") mr=$(median "${rem[@]}")
	results+=("$(printf 'remote faults (%s tml suites, %s exec tests, --timeout 2s): local -j%s %.2fs  remote --remote-jobs %s %.2fs  ratio %s  per-test verdicts equal: %s' \
		"$NFAULT" "$((2 * NFAULT))" "$JOBS" "$ml" "$JOBS" "$mr" "$(ratio "$mr" "$ml")" "$same")")
	results+=("            local:  $sl")
	results+=("            remote: $sr")
fi

results+=("$(printf '            (the server stages each action'"'"'s inputs in %s: copying the %.1f MB binary there takes %sms)' \
	"$SERVER_TMPDIR" "$(awk -v b="$(stat -c %s "$V")" 'BEGIN { print b / 1e6 }')" "$(stage_ms)")")

warn_cpu
print_results
