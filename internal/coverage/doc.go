// Package coverage gives every test process its own coverage destination and
// merges what the processes wrote into one report after the run.
//
// A Collector plugs into the runner through Env: each process gets
//
//	TML_COVERAGE_FILE=DIR/raw/tml/<suite>-<proc>.txt     covered function names, one a line
//	GOCOVERDIR=DIR/raw/go/<proc>/                        Go binaries built with -cover
//	LLVM_PROFILE_FILE=DIR/raw/llvm/<proc>-%p-%m.profraw  clang -fprofile-instr-generate
//	                                                     -fcoverage-mapping, rustc -C instrument-coverage
//
// whatever its protocol, since a variable a program does not read is harmless.
// Go test binaries ignore GOCOVERDIR: the gotest protocol must also pass
// -test.gocoverdir, but only to binaries built with -cover (GoTestFlag).
//
// Merge, after the run, writes into DIR:
//
//	coverage.json, coverage.html   function coverage from the TML files, per module
//	                               (Options.HTMLName renames both)
//	covered_functions.txt          this run's covered functions (the next run's Delta uses it)
//	coverage_history.jsonl         one line appended per run
//	go.cover.txt, go.lcov,         Go: merged with `go tool covdata`, a text profile,
//	go.cobertura.xml, go.html      LCOV, Cobertura and `go tool cover -html`
//	llvm.lcov, llvm.cobertura.xml, LLVM: `llvm-profdata merge`, `llvm-cov export`
//	llvm-html/, merged.profdata    and `llvm-cov show`
//
// The library's functions come from a list (Options.Functions), grouped
// into modules by their first `::` segment (`parser::parse_expr` is in
// module `parser`, a name without `::` in "(none)"), or from a scan of TML
// library sources (Options.Sources) by TML's own rules, grouped by source
// module. Without either only covered names are known, so every module's
// total is its covered count and no percentage is given. coverage.json
// and coverage_history.jsonl use TML's schema, so TML's tools read them.
//
// Nothing is lost silently: a coverage file cut short by a killed process,
// an empty file, lines that are not function names, a corrupt Go or LLVM
// data file, a missing tool — each becomes a warning that names the suite,
// and the rest of the data is still merged. Coverage from processes whose
// tests failed or crashed is included, and the report says how much.
// Every external tool runs under a timeout.
package coverage
