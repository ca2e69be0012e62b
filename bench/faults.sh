#!/usr/bin/env bash
# bench/faults.sh — the fault suite against a freshly built volley:
#
#   (a) every scenario of TestFaultSuite (internal/cli/fault_test.go): a
#       misbehaving test (hang, SIGTERM-ignoring hang, crash, grandchild
#       holding stdio, daemonized grandchild, 1 GiB of output, invalid
#       UTF-8, flaky, garbage protocol output for each harness, missing /
#       non-executable / non-binary file, corrupt history, unwritable
#       report, ...) beside passing suites, run through this volley, which
#       also plays the fixture suites. Prints
#           scenario | outcome | processes left | results lost
#       "processes left": processes of the run alive 3s after volley exited
#       (found by an environment mark, then killed); "results lost": passing
#       results (of 6) missing from the event log.
#   (b) volley's peak RSS while one test prints 1 GiB, from
#       /usr/bin/time -f %M. Target <= 64 MiB. (The figure is the maximum of
#       volley and the children it waited for, so it bounds volley's own.)
#   (c) nothing lost under load: two tml suites of 100,000 results each,
#       whose first test enlarges its stdout pipe to 1 MiB, at -j2 while two
#       CPU hogs run; DRAIN_RUNS runs (10). Target: 0 of 200,000 lost in
#       every run.
#   (e) argument limits: TestFaultArgumentLimits through this volley, with
#       a GoogleTest-shaped binary of 20,000 long-named tests, run twice (the
#       second run's batches sized from history). Target: 0 errors.
#   (d) volley's memory per test: peak RSS of a run of one tml suite of
#       100,000 results (printed by awk, so the child is small), first
#       without history, then with it, minus a one-test run's. Target:
#       <= 1 KiB per test.
#
# Knobs (environment):
#   VOLLEY=path  use this volley binary instead of building one
#   KEEP=1       keep the work directory (logs, table)
#   SKIP_A=1 / SKIP_B=1 / SKIP_C=1 / SKIP_D=1 / SKIP_E=1  skip a part
#   DRAIN_RUNS=N  runs of (c) (10)
#
# Exit status: 0 when every scenario passed its checks and (b), (c) and (d)
# met their targets, 1 otherwise. See bench/FAULTS.md for the last results.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init faults

# --- build ------------------------------------------------------------------
build_volley
status=0

# --- (a) the scenarios --------------------------------------------------------
if [[ "${SKIP_A:-}" != 1 ]]; then
	table=$work/table.tsv
	: >"$table"
	log "running the fault scenarios (go test -run TestFaultSuite ./internal/cli) ..."
	if ! (cd "$root" && VOLLEY_FAULT_BIN=$V VOLLEY_FAULT_TABLE=$table \
		go test -count=1 -run '^TestFaultSuite$' ./internal/cli) >"$work/scenarios.log" 2>&1; then
		status=1
		log "some scenarios failed their checks (log: $work/scenarios.log; KEEP=1 keeps it):"
		grep -a -E -- '^    --- FAIL' "$work/scenarios.log" >&2 || true
	fi
	[[ -s "$table" ]] || die "no scenario reported (see $work/scenarios.log)"
	echo
	echo "| scenario | outcome | processes left | results lost |"
	echo "| --- | --- | --- | --- |"
	sort "$table" | while IFS=$'\t' read -r name outcome left lost; do
		printf '| %s | %s | %s | %s |\n' "$name" "$outcome" "$left" "$lost"
	done
	echo
fi

# --- (b) peak RSS while a test prints 1 GiB -----------------------------------
if [[ "${SKIP_B:-}" != 1 ]]; then
	TIME=/usr/bin/time
	[[ -x $TIME ]] || die "no $TIME: install Debian's time package (apt-get install -y time)"
	dir=$work/big
	mkdir -p "$dir"
	ln -s "$V" "$dir/big" && echo 'test print=1G pass' >"$dir/big.fixture"
	ln -s "$V" "$dir/ok" && echo 'test pass' >"$dir/ok.fixture"
	start=$(date +%s.%N)
	(cd "$dir" && $TIME -f %M -o "$work/rss" "$V" test --no-cache --state-dir "$dir/state" \
		--protocol exec --timeout 300s ./big ./ok) >"$work/big.log" 2>&1 || true
	end=$(date +%s.%N)
	grep -q '^volley: 2 passed, 0 failed, 0 skipped$' "$work/big.log" ||
		die "the 1 GiB run did not pass both tests: $(tail -3 "$work/big.log")"
	kb=$(tail -1 "$work/rss")
	mib=$((kb / 1024))
	verdict="ok"
	if ((mib > 64)); then
		verdict="OVER TARGET"
		status=1
	fi
	printf 'volley peak RSS while a test prints 1 GiB: %d MiB (target <= 64 MiB: %s); wall %.1fs\n' \
		"$mib" "$verdict" "$(echo "$end - $start" | bc)"
fi
# --- (c) 2 x 100,000 results behind 1 MiB pipes, two CPU hogs ------------------
if [[ "${SKIP_C:-}" != 1 ]]; then
	dir=$work/drain
	mkdir -p "$dir"
	for name in big big2; do
		ln -s "$V" "$dir/$name"
		{
			echo 'protocol tml'
			echo 'test pipe=1M pass'
			awk 'BEGIN { for (i = 0; i < 99999; i++) print "test pass" }'
		} >"$dir/$name.fixture"
	done
	hog() { while :; do :; done; }
	hog & h1=$!
	hog & h2=$!
	runs=${DRAIN_RUNS:-10}
	worst=0
	lost_runs=0
	for ((i = 1; i <= runs; i++)); do
		(cd "$dir" && "$V" test --no-cache --state-dir "$dir/state" -j2 --protocol tml --timeout 300s ./big ./big2) \
			>"$work/drain.$i.log" 2>&1 || true
		passed=$(sed -n 's/^volley: \([0-9]*\) passed.*/\1/p' "$work/drain.$i.log")
		lost=$((200000 - ${passed:-0}))
		((lost > worst)) && worst=$lost
		((lost > 0)) && lost_runs=$((lost_runs + 1))
	done
	kill "$h1" "$h2" 2>/dev/null || true
	wait "$h1" "$h2" 2>/dev/null || true
	verdict=ok
	if ((lost_runs > 0)); then
		verdict=MISSED
		status=1
	fi
	printf 'drain: 2 x 100,000 tml results, 1 MiB pipes, -j2, two CPU hogs: %d of %d runs lost results (worst %d of 200,000) (target 0: %s)\n' \
		"$lost_runs" "$runs" "$worst" "$verdict"
fi

# --- (e) 20,000 gtest tests within the argument limits -------------------------
if [[ "${SKIP_E:-}" != 1 ]]; then
	if (cd "$root" && VOLLEY_FAULT_BIN=$V go test -count=1 -run '^TestFaultArgumentLimits$' ./internal/cli) >"$work/args.log" 2>&1; then
		echo 'argument limits: 20,000 gtest tests with long names, first run and second (history-sized batches): 0 errors (target 0: ok)'
	else
		status=1
		echo "argument limits: 20,000 gtest tests: FAILED: $(grep -a -m3 -E 'not PASS|is ERROR|want' "$work/args.log" | tr '\n' ' ')"
	fi
fi

# --- (d) memory per test: 100,000 tml results ---------------------------------
if [[ "${SKIP_D:-}" != 1 ]]; then
	TIME=/usr/bin/time
	[[ -x $TIME ]] || die "no $TIME: install Debian's time package (apt-get install -y time)"
	dir=$work/mem
	mkdir -p "$dir"
	cat >"$dir/big" <<'SH'
#!/bin/sh
# a tml suite of $N passing tests whose results awk prints
for a in "$@"; do
	case $a in
	--run-all) exec awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "TML_RESULT:%d:PASS:0\n", i }' ;;
	--test-index=*) exit 0 ;;
	esac
done
echo "ERROR: --test-index=N argument required"
exit 98
SH
	chmod +x "$dir/big"
	rss() { # N STATE: volley's peak RSS in KiB for a run of N tests
		(cd "$dir" && N=$1 $TIME -f %M -o "$work/rss" "$V" test --no-cache --state-dir "$2" --protocol tml ./big) \
			>"$work/mem.log" 2>&1 || true
		grep -q "^volley: $1 passed, 0 failed" "$work/mem.log" || die "the $1-test run did not pass: $(tail -3 "$work/mem.log")"
		tail -1 "$work/rss"
	}
	base=$(rss 1 "$dir/state1")
	first=$(rss 100000 "$dir/state")
	second=$(rss 100000 "$dir/state")
	per() { echo "scale=2; ($1 - $base) * 1024 / 100000 / 1024" | bc; } # KiB per test
	verdict=ok
	if (($(echo "$(per "$second") > 1" | bc) || $(echo "$(per "$first") > 1" | bc))); then
		verdict=OVER
		status=1
	fi
	printf 'memory: 100,000 tml tests: volley peak RSS %d MiB without history, %d MiB with it; one test %d MiB; per test %s / %s KiB (target <= 1 KiB: %s)\n' \
		$((first / 1024)) $((second / 1024)) $((base / 1024)) "$(per "$first")" "$(per "$second")" "$verdict"
fi
exit $status
