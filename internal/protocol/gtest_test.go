package protocol

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/event"
)

var gtestBin artifact

// gtestSample compiles testdata/harness/gtest/sample_test.cc against the
// system's GoogleTest (Debian: libgtest-dev).
func gtestSample(t *testing.T) string {
	return gtestBin.get(t, func() (string, string, error) {
		if _, err := os.Stat("/usr/include/gtest/gtest.h"); err != nil {
			return "", "libgtest-dev not installed: apt-get install libgtest-dev", nil
		}
		cxx, err := exec.LookPath("g++")
		if err != nil {
			return "", "g++ not installed: apt-get install g++", nil
		}
		src := filepath.Join(repoRoot(t), "testdata", "harness", "gtest", "sample_test.cc")
		bin := filepath.Join(artifacts, "gtest_sample")
		_, err = command("", nil, cxx, "-std=c++17", "-O0", "-o", bin, src, "-lgtest", "-lgtest_main", "-pthread")
		return bin, "", err
	})
}

func gtestSuite(t *testing.T) *Suite {
	return &Suite{Name: "gtest_sample", Path: gtestSample(t), Protocol: "gtest"}
}

var gtestSampleTests = []Test{
	{Name: "Math.Adds"}, {Name: "Math.Fails"}, {Name: "Math.Skips"},
	{Name: "Math.DISABLED_Slow", Ignored: true, Reason: gtestDisabledReason},
	{Name: "Output.LooksLikeFraming"}, {Name: "Crash.MaybeCrashes"}, {Name: "Crash.After"},
	{Name: "Typed/0.Zero"}, {Name: "Typed/1.Zero"},
	{Name: "DISABLED_Off.Never", Ignored: true, Reason: gtestDisabledReason},
	{Name: "Small/Param.Positive/0"}, {Name: "Small/Param.Positive/1"},
}

func testNames(tests []Test) []string {
	var n []string
	for _, t := range tests {
		n = append(n, t.Name)
	}
	return n
}

func TestGTestList(t *testing.T) {
	t.Parallel()
	tests, err := GTest{}.List(context.Background(), gtestSuite(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tests, gtestSampleTests) {
		t.Errorf("List = %+v\nwant %+v", tests, gtestSampleTests)
	}
}

// gtestJSON runs the sample whole with --gtest_output=json and returns
// GoogleTest's own verdicts for the tests it ran.
func gtestJSON(t *testing.T, bin string) map[string]event.Status {
	out := filepath.Join(t.TempDir(), "out.json")
	command("", nil, bin, "--gtest_output=json:"+out) // exits 1: a test fails
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Testsuites []struct {
			Name      string
			Testsuite []struct {
				Name, Status, Result string
				Failures             []any
			}
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]event.Status{}
	for _, s := range doc.Testsuites {
		for _, tc := range s.Testsuite {
			name := s.Name + "." + tc.Name
			switch {
			case tc.Status == "NOTRUN":
				continue
			case tc.Result == "SKIPPED":
				got[name] = event.Skip
			case len(tc.Failures) > 0:
				got[name] = event.Fail
			default:
				got[name] = event.Pass
			}
		}
	}
	return got
}

func TestGTestWholeAndBatchesMatchGoogleTest(t *testing.T) {
	t.Parallel()
	s := gtestSuite(t)
	want := gtestJSON(t, s.Path)
	whole := runReal(t, GTest{}.Units(s)[0], nil, 0)
	got := whole.byTest()
	if got["Math.DISABLED_Slow"] != event.Skip {
		t.Errorf("whole run: Math.DISABLED_Slow %s, want SKIP from its [ DISABLED ] line", got["Math.DISABLED_Slow"])
	}
	delete(got, "Math.DISABLED_Slow")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("whole run:\n%s\nGoogleTest's JSON: %s", whole, statuses(want))
	}
	if o, _ := whole.find("Math.Skips"); o.Reason != "not on this machine" {
		t.Errorf("Math.Skips reason %q", o.Reason)
	}
	if o, _ := whole.find("Math.Fails"); !strings.Contains(o.Reason, "sample_test.cc:") {
		t.Errorf("Math.Fails reason %q, want the failure location", o.Reason)
	}

	names := testNames(gtestSampleTests)
	batch := runReal(t, GTest{}.Batch(s, names), nil, 0)
	bgot := batch.byTest()
	for _, n := range []string{"Math.DISABLED_Slow", "DISABLED_Off.Never"} {
		if o, _ := batch.find(n); o.Status != event.Skip || o.Reason != gtestDisabledReason {
			t.Errorf("batch: %s", formatOutcome(o))
		}
		delete(bgot, n)
	}
	if !reflect.DeepEqual(bgot, want) || len(batch.units) != 1 {
		t.Fatalf("batch of all (%d units):\n%s\nwant %s", len(batch.units), batch, statuses(want))
	}
}

func TestGTestRunIgnored(t *testing.T) {
	t.Parallel()
	s := gtestSuite(t)
	s.RunIgnored = true
	r := runReal(t, GTest{}.Batch(s, []string{"Math.DISABLED_Slow", "DISABLED_Off.Never"}), nil, 0)
	if got := statuses(r.byTest()); got != "DISABLED_Off.Never=FAIL Math.DISABLED_Slow=PASS " {
		t.Errorf("run ignored: %s", got)
	}
}

func TestGTestCrashContinuesInFollowUp(t *testing.T) {
	t.Parallel()
	s := gtestSuite(t)
	env := []string{"GTEST_FIXTURE_CRASH=1"}
	names := testNames(gtestSampleTests)
	r := runReal(t, GTest{}.Batch(s, names), env, 0)
	o, _ := r.find("Crash.MaybeCrashes")
	if o.Status != event.Crash || !strings.Contains(o.Reason, "SIGABRT") {
		t.Errorf("Crash.MaybeCrashes: %s; want CRASH by SIGABRT", formatOutcome(o))
	}
	if len(r.units) != 2 || len(r.outs) != len(names) {
		t.Fatalf("%d units, %d outcomes; want 2 units and one outcome per test:\n%s", len(r.units), len(r.outs), r)
	}
	if o, _ := r.find("Crash.After"); o.Status != event.Pass {
		t.Errorf("Crash.After: %s", formatOutcome(o))
	}

	whole := runReal(t, GTest{}.Units(s)[0], env, 0)
	if o, _ := whole.find("Crash.MaybeCrashes"); o.Status != event.Crash || len(whole.warns) != 1 {
		t.Errorf("whole run: want the crash and a warning that the rest did not run:\n%s", whole)
	}
}

func TestParseGTestList(t *testing.T) {
	out := "Running main() from ./googletest/src/gtest_main.cc\n" +
		"Math.\n  Adds\n  DISABLED_Slow\n" +
		"Typed/0.  # TypeParam = int\n  Zero\n" +
		"Small/DISABLED_Param.\n  Positive/0  # GetParam() = 1\n" +
		"stray output\n  orphan\n" +
		"Ok.\r\n  Win\r\n"
	got := parseGTestList([]byte(out))
	want := []Test{
		{Name: "Math.Adds"}, {Name: "Math.DISABLED_Slow", Ignored: true, Reason: gtestDisabledReason},
		{Name: "Typed/0.Zero"},
		{Name: "Small/DISABLED_Param.Positive/0", Ignored: true, Reason: gtestDisabledReason},
		{Name: "Ok.Win"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseGTestList =\n%+v\nwant\n%+v", got, want)
	}
}

func TestGTestBatchArgs(t *testing.T) {
	s := &Suite{Name: "s", Path: "/s"}
	u := GTest{}.Batch(s, []string{"A.B", "C.D"})
	if want := []string{"--gtest_filter=A.B:C.D"}; !reflect.DeepEqual(u.Args, want) || !reflect.DeepEqual(u.Tests, []string{"A.B", "C.D"}) {
		t.Errorf("Batch args %q tests %q", u.Args, u.Tests)
	}
	s.RunIgnored = true
	if u := (GTest{}).Batch(s, []string{"A.B"}); !has(u.Args, GTestAlsoDisable) {
		t.Errorf("RunIgnored: args %q lack %s", u.Args, GTestAlsoDisable)
	}
}

func TestGTestGolden(t *testing.T) { testGolden(t, "gtest") }

func FuzzGTestSession(f *testing.F) {
	goldenSeeds(f, "gtest")
	f.Add([]byte("[ RUN      ] A.B\n[  FAILED  ] A.B, where GetParam() = 1 (0 ms)\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		fuzzSession(t, "gtest", []string{"A.B", "A.DISABLED_C", "Math.Adds"}, data, sel)
	})
}
