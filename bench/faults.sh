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
#
# Knobs (environment):
#   VOLLEY=path  use this volley binary instead of building one
#   KEEP=1       keep the work directory (logs, table)
#   SKIP_A=1 / SKIP_B=1  skip a part
#
# Exit status: 0 when every scenario passed its checks and (b) met its
# target, 1 otherwise. See bench/FAULTS.md for the last results.
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
exit $status
