package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

var rustBin artifact

// rustCrate copies testdata/harness/rustcrate to a temporary directory (cargo
// writes Cargo.lock next to Cargo.toml) and builds its test binary there.
func rustCrate(t *testing.T) string {
	return rustBin.get(t, func() (string, string, error) {
		cargo, err := exec.LookPath("cargo")
		if err != nil {
			return "", "cargo not installed (https://rustup.rs or apt-get install cargo)", nil
		}
		src := filepath.Join(repoRoot(t), "testdata", "harness", "rustcrate")
		dir := filepath.Join(artifacts, "rustcrate")
		for _, f := range []string{"Cargo.toml", "src/lib.rs"} {
			data, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return "", "", err
			}
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
				return "", "", err
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				return "", "", err
			}
		}
		out, err := command(dir, rustEnv(), cargo, "test", "--no-run", "--offline", "--lib", "--message-format=json")
		if err != nil {
			return "", "", err
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m struct {
				Reason     string
				Executable string
				Profile    struct{ Test bool }
			}
			if json.Unmarshal(sc.Bytes(), &m) == nil && m.Reason == "compiler-artifact" && m.Profile.Test && m.Executable != "" {
				return m.Executable, "", nil
			}
		}
		return "", "", fmt.Errorf("cargo test --no-run: no test executable in its JSON messages")
	})
}

func rustEnv() []string {
	return []string{"CARGO_TARGET_DIR=" + filepath.Join(artifacts, "rust-target"), "CARGO_TERM_COLOR=never"}
}

func rustSuite(t *testing.T) *Suite {
	return &Suite{Name: "rustcrate", Path: rustCrate(t), Protocol: "libtest"}
}

var rustTests = []Test{
	{Name: "tests::fails"},
	{Name: "tests::ignored_plain", Ignored: true, Reason: "#[ignore]"},
	{Name: "tests::ignored_with_reason", Ignored: true, Reason: "#[ignore]"},
	{Name: "tests::maybe_crashes"},
	{Name: "tests::nested::deeper::deep_pass"},
	{Name: "tests::nested::panics_as_expected"},
	{Name: "tests::passes"},
	{Name: "tests::passes_again"},
	{Name: "tests::prints_lookalike"},
}

func TestLibtestList(t *testing.T) {
	t.Parallel()
	tests, err := LibTest{}.List(context.Background(), rustSuite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tests, rustTests) {
		t.Errorf("List = %+v\nwant %+v", tests, rustTests)
	}
}

// cargoCounts runs `cargo test --lib` and returns its passed, failed and
// ignored counts.
func cargoCounts(t *testing.T) [3]int {
	out, _ := command(filepath.Join(artifacts, "rustcrate"), rustEnv(), "cargo", "test", "--offline", "--lib")
	m := regexp.MustCompile(`test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cargo test: no result line in\n%s", out)
	}
	var c [3]int
	for i := range c {
		fmt.Sscan(string(m[i+1]), &c[i])
	}
	return c
}

func counts(r runResult) [3]int {
	var c [3]int
	for _, o := range r.outs {
		switch o.Status {
		case event.Pass:
			c[0]++
		case event.Fail:
			c[1]++
		case event.Skip:
			c[2]++
		}
	}
	return c
}

func TestLibtestWholeAndBatchMatchCargo(t *testing.T) {
	t.Parallel()
	s := rustSuite(t)
	want := cargoCounts(t)
	whole := runReal(t, LibTest{}.Units(s)[0], nil, 0)
	if got := counts(whole); got != want || len(whole.outs) != len(rustTests) {
		t.Fatalf("whole run: passed, failed, ignored = %v; cargo test: %v\n%s", got, want, whole)
	}
	if o, _ := whole.find("tests::ignored_with_reason"); o.Reason != "needs a network" {
		t.Errorf("ignore reason %q", o.Reason)
	}
	batch := runReal(t, LibTest{}.Batch(s, testNames(rustTests)), nil, 0)
	if !reflect.DeepEqual(batch.byTest(), whole.byTest()) || len(batch.units) != 1 {
		t.Fatalf("batch of all (%d units):\n%s\nwhole run:\n%s", len(batch.units), batch, whole)
	}
	for _, r := range []runResult{whole, batch} {
		if o, _ := r.find("tests::fails"); !strings.Contains(o.Reason, "arithmetic is broken") || !strings.Contains(o.Reason, "left: 4") {
			t.Errorf("tests::fails reason %q; want the panic message from the failures section", o.Reason)
		}
	}
	s.RunIgnored = true
	ign := runReal(t, LibTest{}.Batch(s, []string{"tests::ignored_plain", "tests::passes"}), nil, 0)
	if got := statuses(ign.byTest()); got != "tests::ignored_plain=PASS tests::passes=PASS " {
		t.Errorf("run ignored: %s", got)
	}
}

func TestLibtestCrashContinuesInFollowUp(t *testing.T) {
	t.Parallel()
	s := rustSuite(t)
	env := []string{"RUSTCRATE_CRASH=1"}
	r := runReal(t, LibTest{}.Batch(s, testNames(rustTests)), env, 0)
	o, _ := r.find("tests::maybe_crashes")
	if o.Status != event.Crash || !strings.Contains(o.Reason, "SIGABRT") {
		t.Errorf("tests::maybe_crashes: %s; want CRASH by SIGABRT", formatOutcome(o))
	}
	if len(r.units) != 2 || len(r.outs) != len(rustTests) {
		t.Fatalf("%d units, %d outcomes; want 2 units and one outcome per test:\n%s", len(r.units), len(r.outs), r)
	}
	whole := runReal(t, LibTest{}.Units(s)[0], env, 0)
	crashed := false
	for _, o := range whole.outs {
		crashed = crashed || o.Status == event.Crash
	}
	if !crashed {
		t.Errorf("whole run: no crash reported:\n%s", whole)
	}
}

func TestParseLibtestList(t *testing.T) {
	out := "a::b: test\nc: bench\nweird line\nd::e: test\r\n\n"
	if got := testNames(parseLibtestList([]byte(out))); !reflect.DeepEqual(got, []string{"a::b", "d::e"}) {
		t.Errorf("parseLibtestList = %q", got)
	}
}

func TestLibtestBatchArgs(t *testing.T) {
	s := &Suite{Name: "s", Path: "/s", RunIgnored: true}
	u := LibTest{}.Batch(s, []string{"a::b", "c"})
	want := []string{"--exact", "--test-threads=1", "--include-ignored", "a::b", "c"}
	if !reflect.DeepEqual(u.Args, want) {
		t.Errorf("Batch args %q, want %q", u.Args, want)
	}
}

func TestLibtestGolden(t *testing.T) { testGolden(t, "libtest") }

func FuzzLibtestSession(f *testing.F) {
	goldenSeeds(f, "libtest")
	f.Add([]byte("running 2 tests\ntest a ... "), uint8(2+16))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		fuzzSession(t, "libtest", []string{"a", "b::c", "tests::passes"}, data, sel)
	})
}
