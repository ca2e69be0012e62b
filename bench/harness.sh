#!/usr/bin/env bash
# bench/harness.sh — volley on real harnesses against each harness's own
# parallel runner, in one run (see bench/HARNESS.md):
#
#   (a) Go: test binaries of ten standard-library packages, full tests (not
#       -short), each run in its package directory: `volley test -j2` vs
#       `go test -count=1 -p 2 PKGS`. Ratio volley/go-test, target <= 0.75
#       with history, <= 0.9 on a first run (a fresh --state-dir each time).
#   (b) GoogleTest: one binary with NGTEST quick tests (1-5 ms of CPU each):
#       volley -j2 with granularity auto and with granularity test, vs GNU
#       parallel running one test per job (`parallel -j2 BIN --gtest_filter={}`).
#       Ratios auto/parallel (target <= 0.3) and per-test/parallel.
#   (c) TAP: CPAN distributions' t/ directories (Debian source packages,
#       fetched with `apt-get source` through a private deb-src index made
#       from the system's own Debian source list; otherwise a generated t/
#       of 40 scripts), each: volley -j2 vs `prove -j2 --state=slow,save`.
#       Ratio volley/prove, target <= 1.0 where one file dominates (it alone
#       is the floor) and <= 0.9 where none does; and each launcher's own
#       CPU per TAP line, target volley < prove.
#
# Every other comparison is measured warm: one untimed volley run first records
# test durations in a fresh --state-dir (history: longest first, batch
# sizes), and prove gets one untimed run to save its --state. Volley runs
# with --no-cache (every run really runs every test), output to a log (no
# live view); its summary line is checked, so a run that tested the wrong
# thing fails the script instead of looking fast.
#
# Knobs (environment):
#   RUNS=3        timed runs per measurement (median reported; interleaved)
#   JOBS=2        the -j / -p / -P of every tool
#   PKGS="..."    (a) the Go packages (default: strings bytes strconv sort
#                 fmt encoding/json text/template unicode/utf8 bufio regexp)
#   NGTEST=300    (b) tests in the generated GoogleTest binary
#   TAP_SRC=auto  (c) auto: TAP_DISTS via apt-get source, else generated;
#                 generated: always generate
#   TAP_DISTS="libtest-deep-perl libpath-tiny-perl libjson-pp-perl libtext-csv-perl"
#                 (c) the Debian source packages of the distributions
#   VOLLEY=path   use this volley binary instead of building one
#   KEEP=1        keep the work directory
#   SKIP_A=1 / SKIP_B=1 / SKIP_C=1  skip a part
set -euo pipefail

RUNS=${RUNS:-3}
JOBS=${JOBS:-2}
# regexp is the hard case: its TestRE2Exhaustive is one test of ~15s of CPU,
# the longest single piece of work, which a launcher must start first (the
# floor line shows how close that is to the best possible).
PKGS=${PKGS:-strings bytes strconv sort fmt encoding/json text/template unicode/utf8 bufio regexp}
NGTEST=${NGTEST:-300}
TAP_SRC=${TAP_SRC:-auto}
TAP_DISTS=${TAP_DISTS:-libtest-deep-perl libpath-tiny-perl libjson-pp-perl libtext-csv-perl}

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init harness

# Go commands see neither the caller's GOFLAGS (e.g. -race) nor a workspace.
export GOFLAGS= GOWORK=off GOTOOLCHAIN=local

# --- build ------------------------------------------------------------------
build_volley
backdate_volley

# volley_ok LOG: the run's summary has 0 failed; prints "passed skipped".
volley_ok() {
	local s
	s=$(grep -m1 '^volley: ' "$1") || die "no volley summary in $1: $(tail -n3 "$1")"
	[[ "$s" =~ ^volley:\ ([0-9]+)\ passed,\ 0\ failed,\ ([0-9]+)\ skipped ]] || die "volley run failed ($1): $s"
	printf '%s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
}
# json_procs LOG: processes volley ran (sum of the suites' "procs").
json_procs() { grep -o '"procs":[0-9]*' "$1" | awk -F: '{ n += $2 } END { print n + 0 }'; }
# json_cpu LOG: CPU seconds of all volley's test processes (the run line).
json_cpu() { grep -o '"run":{[^}]*' "$1" | grep -o '"cpu_ms":[0-9]*' | awk -F: '{ printf "%.2f", $2 / 1000 }'; }
# json_longest LOG: the longest single test, "SECONDS NAME".
json_longest() {
	grep '"Action":"pass"' "$1" | grep '"Volley":{"test"' |
		sed -n 's/.*"Package":"\([^"]*\)","Test":"\([^"]*\)","Elapsed":\([0-9.e+-]*\).*/\3 \1::\2/p' | sort -g | tail -n1
}

# json_longest_suite LOG: the longest suite, "SECONDS NAME".
json_longest_suite() {
	sed -n 's/.*"Action":"\(pass\|fail\)","Package":"\([^"]*\)","Elapsed":\([0-9.e+-]*\).*/\3 \2/p' "$1" | sort -g | tail -n1
}

watch_load
log_start "RUNS=$RUNS JOBS=$JOBS"
results=()

# --- (a) Go standard-library test binaries vs go test -p -----------------------
if [[ "${SKIP_A:-}" != 1 ]]; then
	goroot=$(go env GOROOT)
	da=$work/go
	mkdir -p "$da"
	read -r -a pkgs <<<"$PKGS"
	{
		# go test's own default per-package timeout; volley's default (20s
		# per test) is too short for regexp's TestRE2Exhaustive on a busy box.
		printf '[run]\ntimeout = "10m"\n'
		for p in "${pkgs[@]}"; do
			n=${p//\//_}
			printf '\n[[suite]]\nname = "%s"\npaths = ["%s.test"]\ncwd = "%s/src/%s"\n' "$n" "$n" "$goroot" "$p"
		done
	} >"$da/volley.toml"
	log "(a) building ${#pkgs[@]} test binaries (go test -c) ..."
	t=$(timed bash -c 'for p; do go test -c -o "'"$da"'/${p//\//_}.test" "$p" || exit 1; done' _ "${pkgs[@]}")
	log "(a) built in ${t}s"
	run_volley_a() { "$V" test --config "$da/volley.toml" -j"$JOBS" --no-cache --state-dir "$work/state-a" --json "$work/a-volley.json" >"$work/a-volley.log" 2>&1; }
	run_gotest() { go test -count=1 -p "$JOBS" "${pkgs[@]}" >"$work/a-gotest.log" 2>&1; }
	# go test's fixed cost: build check, link, vet, start each binary; no test.
	run_gotest_none() { go test -count=1 -p "$JOBS" -run '^$' "${pkgs[@]}" >/dev/null 2>&1; }
	# go test's execution without the build: each prebuilt binary whole, in
	# its package directory, JOBS at a time, with go test's flags.
	run_prebuilt() {
		for p in "${pkgs[@]}"; do printf '%s\n%s\n' "$goroot/src/$p" "$da/${p//\//_}.test"; done |
			xargs -P"$JOBS" -n2 sh -c 'cd "$1" && exec "$2" -test.paniconexit0 -test.timeout=10m0s >/dev/null 2>&1' _
	}
	# A first run: no history, so no durations to order or size by.
	run_volley_first() {
		rm -rf "$work/state-first"
		"$V" test --config "$da/volley.toml" -j"$JOBS" --no-cache --state-dir "$work/state-first" >"$work/a-first.log" 2>&1
	}
	run_volley_a # warm-up: history for the smart order and the batches
	counts=$(volley_ok "$work/a-volley.log")
	read -r passed_a skipped_a <<<"$counts"
	av=() ag=() ap=() af=()
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_volley_first)
		volley_ok "$work/a-first.log" >/dev/null
		af+=("$t")
		t=$(timed run_volley_a)
		volley_ok "$work/a-volley.log" >/dev/null
		av+=("$t")
		t=$(timed run_gotest)
		ag+=("$t")
		t=$(timed run_prebuilt)
		ap+=("$t")
		log "(a) run $i: volley -j$JOBS ${av[-1]}s (first run ${af[-1]}s)  go test -p $JOBS ${ag[-1]}s  prebuilt binaries ${ap[-1]}s"
	done
	fixed=$(timed run_gotest_none)
	mv=$(median "${av[@]}") mg=$(median "${ag[@]}") prebuilt=$(median "${ap[@]}") mf=$(median "${af[@]}")
	cpu=$(json_cpu "$work/a-volley.json")
	lt=$(json_longest "$work/a-volley.json")
	read -r longest longest_name <<<"$lt"
	floor=$(awk -v c="$cpu" -v j="$JOBS" -v l="$longest" 'BEGIN { f = c / j; if (l > f) f = l; printf "%.2f", f }')
	ra=$(ratio "$mv" "$mg")
	va=$(verdict le "$ra" 0.75)
	if [[ $va == MISSED ]] && ! le "$(ratio "$floor" "$mg")" 0.75; then
		va="MISSED, unreachable: floor/go-test > 0.75"
	fi
	results+=("$(printf 'harness (a) %d Go std packages (%s tests, %s skipped): volley -j%s %.2fs  go test -p %s %.2fs  ratio %s  (target <= 0.75: %s)' \
		"${#pkgs[@]}" "$passed_a" "$skipped_a" "$JOBS" "$mv" "$JOBS" "$mg" "$ra" "$va")")
	rf=$(ratio "$mf" "$mg")
	results+=("$(printf '         first run (no history): volley -j%s %.2fs  ratio %s  (target <= 0.9: %s)' \
		"$JOBS" "$mf" "$rf" "$(verdict le "$rf" 0.9)")")
	results+=("$(printf '         floor %.2fs = max(cpu %.2fs / %s, longest test %.2fs %s): floor/go-test %s; volley ran %s processes' \
		"$floor" "$cpu" "$JOBS" "$longest" "$longest_name" "$(ratio "$floor" "$mg")" "$(json_procs "$work/a-volley.json")")")
	results+=("$(printf '         go test fixed cost (-run ^$: link, vet, start) %.2fs; prebuilt binaries whole, %s at a time (xargs) %.2fs: volley/prebuilt %s' \
		"$fixed" "$JOBS" "$prebuilt" "$(ratio "$mv" "$prebuilt")")")
fi

# --- (b) GoogleTest: volley auto / per-test vs GNU parallel ----------------------
if [[ "${SKIP_B:-}" != 1 ]]; then
	if [[ ! -f /usr/include/gtest/gtest.h ]] || ! command -v g++ >/dev/null; then
		results+=("harness (b) skipped: needs g++ and libgtest-dev (apt-get install -y g++ libgtest-dev)")
	elif ! command -v parallel >/dev/null && ! { [[ $(id -u) == 0 ]] && apt-get install -y parallel >"$work/apt-parallel.log" 2>&1; }; then
		results+=("harness (b) skipped: needs GNU parallel (apt-get install -y parallel)")
	else
		db=$work/gtest
		mkdir -p "$db/auto" "$db/pertest"
		{
			cat <<-'EOF'
				// Generated by bench/harness.sh: quick tests, 1-5 ms of CPU each.
				#include <gtest/gtest.h>
				#include <chrono>
				#include <cmath>
				static double work(int ms) {
				  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
				  double x = 0;
				  while (std::chrono::steady_clock::now() < end)
				    for (int i = 0; i < 1000; i++) x += std::sqrt(double(i) + x);
				  return x;
				}
			EOF
			for ((i = 0; i < NGTEST; i++)); do
				printf 'TEST(Group%02d, Case%03d) { EXPECT_GT(work(%d), 0.0); }\n' $((i / 20)) "$i" $((1 + i % 5))
			done
		} >"$db/quick_test.cc"
		log "(b) building a GoogleTest binary with $NGTEST tests ..."
		g++ -std=c++17 -O1 -o "$db/quick_test" "$db/quick_test.cc" -lgtest -lgtest_main -pthread || die "g++ failed"
		# --gtest_list_tests: "Suite." lines, then "  Test" lines.
		"$db/quick_test" --gtest_list_tests | awk '/^[^ ]/ { s = $1; next } { sub(/^ +/, ""); sub(/ .*/, ""); print s $0 }' >"$db/names.txt"
		(($(wc -l <"$db/names.txt") == NGTEST)) || die "listed $(wc -l <"$db/names.txt") tests, want $NGTEST"
		printf '[[suite]]\nname = "quick_test"\npaths = ["../quick_test"]\ngranularity = "auto"\n' >"$db/auto/volley.toml"
		printf '[[suite]]\nname = "quick_test"\npaths = ["../quick_test"]\ngranularity = "test"\n' >"$db/pertest/volley.toml"
		run_vb() { "$V" test --config "$db/$1/volley.toml" -j"$JOBS" --no-cache --state-dir "$work/state-b-$1" --json "$work/b-$1.json" >"$work/b-$1.log" 2>&1; }
		run_parallel() { parallel --will-cite -j"$JOBS" "$db/quick_test" --gtest_filter={} :::: "$db/names.txt" >/dev/null 2>&1; }
		run_vb auto # warm-ups
		run_vb pertest
		run_parallel
		bauto=() bper=() bpar=()
		for ((i = 1; i <= RUNS; i++)); do
			t=$(timed run_vb auto)
			[[ $(volley_ok "$work/b-auto.log") == "$NGTEST 0" ]] || die "(b) auto: unexpected summary"
			bauto+=("$t")
			t=$(timed run_vb pertest)
			[[ $(volley_ok "$work/b-pertest.log") == "$NGTEST 0" ]] || die "(b) per-test: unexpected summary"
			bper+=("$t")
			t=$(timed run_parallel)
			bpar+=("$t")
			log "(b) run $i: volley auto ${bauto[-1]}s  volley per-test ${bper[-1]}s  parallel ${bpar[-1]}s"
		done
		ma=$(median "${bauto[@]}") mp=$(median "${bper[@]}") mx=$(median "${bpar[@]}")
		rauto=$(ratio "$ma" "$mx")
		bfloor=$(awk -v c="$(json_cpu "$work/b-auto.json")" -v j="$JOBS" 'BEGIN { printf "%.2f", c / j }')
		vb=$(verdict le "$rauto" 0.3)
		if [[ $vb == MISSED ]] && ! le "$(ratio "$bfloor" "$mx")" 0.3; then
			vb="MISSED, unreachable: floor/parallel > 0.3"
		fi
		results+=("$(printf 'harness (b) gtest, %s tests of 1-5ms: volley auto %.2fs (%s procs)  per-test %.2fs (%s procs)  parallel -j%s %.2fs (%s procs)  auto/parallel %s (target <= 0.3: %s)  per-test/parallel %s' \
			"$NGTEST" "$ma" "$(json_procs "$work/b-auto.json")" "$mp" "$(json_procs "$work/b-pertest.json")" "$JOBS" "$mx" "$NGTEST" \
			"$rauto" "$vb" "$(ratio "$mp" "$mx")")")
		results+=("$(printf '         test cpu %.2fs (per-test run: %.2fs): the floor at -j%s is ~%.2fs, floor/parallel %s' \
			"$(json_cpu "$work/b-auto.json")" "$(json_cpu "$work/b-pertest.json")" "$JOBS" "$bfloor" "$(ratio "$bfloor" "$mx")")")
	fi
fi

# --- (c) TAP: a CPAN t/ directory, volley vs prove --------------------------------
# gen_tap DIR: 40 CPAN-style scripts (no #!, not executable, Test::More)
# with varied sleeps and CPU loops, 2 to 30 tests each.
gen_tap() {
	mkdir -p "$1/t" "$1/lib"
	local i
	for ((i = 0; i < 40; i++)); do
		cat >"$1/t/$(printf '%02d' "$i")-gen.t" <<-EOF
			use strict;
			use warnings;
			use Test::More;
			use Time::HiRes qw(sleep);
			my \$n = 2 + ($i * 7) % 29;
			for my \$k (1 .. \$n) {
			    sleep(0.001 * (($i * 13 + \$k * 5) % 23));
			    my \$x = 0; \$x += sqrt(\$_) for 1 .. 2000 * (($i + \$k) % 9);
			    ok(\$x >= 0, "case \$k");
			}
			done_testing;
		EOF
	done
}

# deb_src_index DIR: a private deb-src index in DIR made from the system's
# own Debian source list (its first deb822 stanza with the main component,
# as deb-src); the system's apt sources are not touched. Sets $aptopt.
deb_src_index() {
	local f
	mkdir -p "$1/lists/partial"
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f "$f" ]] || continue
		awk 'BEGIN { RS = ""; ORS = "\n" } /(^|\n)Types:[^\n]*deb/ && /Components:[^\n]*main/ { print; exit }' "$f" |
			sed -E '/^#/d; s/^Types:.*/Types: deb-src/' >"$1/src.sources"
		[[ -s "$1/src.sources" ]] && break
	done
	[[ -s "$1/src.sources" ]] || return 1
	aptopt=(-o "Dir::Etc::SourceList=$1/src.sources" -o "Dir::Etc::SourceParts=/nonexistent" -o "Dir::State::Lists=$1/lists")
	(cd "$1" && timeout 120 apt-get "${aptopt[@]}" update) >>"$1/apt.log" 2>&1
}

# fetch_dist PKG: the CPAN distribution of Debian source package PKG,
# unpacked in $dc; prints its directory (nothing when it cannot be had).
fetch_dist() {
	local tarball
	(cd "$dc/apt" && timeout 60 apt-get "${aptopt[@]}" source --download-only "$1") >>"$dc/apt/apt.log" 2>&1 || true
	tarball=$(compgen -G "$dc/apt/$1_*.orig.tar.*" | head -n1) || return 0
	mkdir -p "$dc/$1"
	tar -C "$dc/$1" -xf "$tarball" 2>/dev/null || return 0
	compgen -G "$dc/$1/*/t" | head -n1 | xargs -r dirname
}

# prove_own LOG: prove's own CPU (its process's usr + sys, from its Files= line).
prove_own() { sed -n 's/^Files=.*( *\([0-9.]*\) usr *\([0-9.]*\) sys.*/\1 \2/p' "$1" | awk '{ printf "%.3f", $1 + $2 }'; }

# tap_dist DIR WHAT: volley vs prove on DIR/t/*.t; appends to $results.
tap_dist() {
	local dist=$1 what=$2 key i t
	key=$(basename "$dist")
	local ntap
	ntap=$(compgen -G "$dist/t/*.t" | wc -l)
	# interpreter: the absolute perl. volley runs a .t file without #! as
	# "perl FILE", but starts it without a $PATH lookup, so a bare "perl"
	# fails ("cannot run perl: no such file"); see bench/HARNESS.md.
	printf '[[suite]]\nname = "t"\npaths = ["t/*.t"]\ncwd = "%s"\ninterpreter = ["%s"]\nenv = { PERL5LIB = "%s/lib" }\n' \
		"$dist" "$(command -v perl)" "$dist" >"$dist/volley.toml"
	run_vc() { (cd "$dist" && "$V" test -j"$JOBS" --no-cache --state-dir "$work/state-c-$key" --json "$work/c-volley.json" >"$work/c-volley.log" 2>&1); }
	run_prove() { (cd "$dist" && PERL5LIB="$dist/lib" prove -j"$JOBS" --state=slow,save t/*.t >"$work/c-prove.log" 2>&1); }
	run_vc # warm-ups: volley's history, prove's .prove state
	run_prove
	local cv=() cp=() passed_c skipped_c counts
	for ((i = 1; i <= RUNS; i++)); do
		t=$(timed run_vc)
		counts=$(volley_ok "$work/c-volley.log")
		read -r passed_c skipped_c <<<"$counts"
		cv+=("$t")
		t=$(timed run_prove)
		grep -q '^Result: PASS' "$work/c-prove.log" || die "(c) $key: prove failed: $(tail -n3 "$work/c-prove.log")"
		cp+=("$t")
		log "(c) $key run $i: volley -j$JOBS ${cv[-1]}s  prove -j$JOBS ${cp[-1]}s"
	done
	# Own CPU, each tool once more: volley's is everything its processes
	# used (time(1): volley, its supervisors, its watchdog and the tests)
	# less what its event log gives for the tests, in the same run; prove's
	# is its own process's, from its Files= line.
	/usr/bin/time -f '%U %S' -o "$work/c-cpu" bash -c "$(declare -f run_vc); V='$V' JOBS='$JOBS' dist='$dist' work='$work' key='$key' run_vc" >/dev/null 2>&1 || true
	volley_ok "$work/c-volley.log" >/dev/null
	local vtotal ttest vown pown ptests longest floor rc mcv mcp dominated target vt
	vtotal=$(awk '{ printf "%.3f", $1 + $2 }' "$work/c-cpu")
	ttest=$(json_cpu "$work/c-volley.json")
	vown=$(awk -v a="$vtotal" -v b="$ttest" 'BEGIN { printf "%.3f", a - b }')
	run_prove
	pown=$(prove_own "$work/c-prove.log")
	ptests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$work/c-prove.log")
	((passed_c + skipped_c == ptests)) || log "(c) $key: note: volley counted $passed_c passed + $skipped_c skipped, prove Tests=$ptests"
	mcv=$(median "${cv[@]}") mcp=$(median "${cp[@]}")
	rc=$(ratio "$mcv" "$mcp")
	read -r longest longest_name <<<"$(json_longest_suite "$work/c-volley.json")"
	floor=$(awk -v c="$ttest" -v j="$JOBS" -v l="$longest" 'BEGIN { f = c / j; if (l > f) f = l; printf "%.2f", f }')
	# One file dominates when it alone is the floor: no order can finish
	# before it. Otherwise the target is 0.9.
	if le "$(awk -v c="$ttest" -v j="$JOBS" 'BEGIN { print c / j }')" "$longest"; then
		dominated="one file dominates" target=1.0
	else
		dominated="no file dominates" target=0.9
	fi
	vt=$(verdict le "$rc" "$target")
	if [[ $vt == MISSED ]] && ! le "$(ratio "$floor" "$mcp")" "$target"; then
		vt="MISSED, unreachable: floor/prove > $target"
	fi
	results+=("$(printf 'harness (c) TAP, %s: %s files, %s tests: volley -j%s %.2fs  prove -j%s --state=slow,save %.2fs  ratio %s  (%s, target <= %s: %s)' \
		"$what" "$ntap" "$ptests" "$JOBS" "$mcv" "$JOBS" "$mcp" "$rc" "$dominated" "$target" "$vt")")
	results+=("$(printf '         floor %.2fs = max(test cpu %.2fs / %s, longest file %.2fs %s): floor/prove %s; volley %s passed, %s skipped' \
		"$floor" "$ttest" "$JOBS" "$longest" "$longest_name" "$(ratio "$floor" "$mcp")" "$passed_c" "$skipped_c")")
	results+=("$(printf '         own CPU beside the tests: volley %.3fs (%s us per TAP line)  prove %.3fs (%s us per line)  (target volley < prove: %s)' \
		"$vown" "$(awk -v c="$vown" -v n="$ptests" 'BEGIN { printf "%.0f", c * 1e6 / n }')" \
		"$pown" "$(awk -v c="$pown" -v n="$ptests" 'BEGIN { printf "%.0f", c * 1e6 / n }')" "$(verdict le "$vown" "$pown")")")
}

if [[ "${SKIP_C:-}" != 1 ]]; then
	if ! command -v prove >/dev/null; then
		results+=("harness (c) skipped: needs prove (Debian package perl)")
	else
		dc=$work/tap
		mkdir -p "$dc/apt"
		dists=()
		if [[ "$TAP_SRC" == auto && $(id -u) == 0 ]] && deb_src_index "$dc/apt"; then
			for pkg in $TAP_DISTS; do
				d=$(fetch_dist "$pkg")
				if [[ -n "$d" && -d "$d/t" ]]; then
					dists+=("$d")
				else
					log "(c) $pkg: no source package (see $dc/apt/apt.log)"
				fi
			done
		fi
		if ((${#dists[@]} == 0)); then
			[[ "$TAP_SRC" == auto ]] && log "(c) no deb-src (see $dc/apt/apt.log): generating a t/ directory"
			gen_tap "$dc/gen"
			tap_dist "$dc/gen" "generated t/ (40 scripts)"
		fi
		for d in "${dists[@]}"; do
			b=$(basename "$d")
			tap_dist "$d" "${b%-*} ${b##*-} t/ (CPAN, via apt-get source)"
		done
	fi
fi

warn_load
print_results
