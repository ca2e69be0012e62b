package report

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/event"
)

func htmlOf(t *testing.T, events []*event.Event, o HTMLOptions) string {
	var buf bytes.Buffer
	return feed(t, NewHTML(&buf, o), &buf, events)
}

func TestHTMLGolden(t *testing.T) {
	cov := &CoverageSummary{Percent: 73.4, Covered: 1234, Total: 1681}
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) {
			o := HTMLOptions{}
			if s.name == "flaky" {
				o.Coverage = cov
			}
			checkGolden(t, "html-"+s.name, htmlOf(t, s.events(), o))
		})
	}
}

// TestHTMLSelfContained checks the page fetches nothing and that test output
// cannot inject markup or end the script.
func TestHTMLSelfContained(t *testing.T) {
	page := htmlOf(t, flakyRun(), HTMLOptions{})
	if n, m := strings.Count(page, "<script"), strings.Count(page, "</script"); n != 1 || m != 1 {
		t.Errorf("page has %d <script and %d </script, want the one inline script", n, m)
	}
	if strings.Contains(page, "<b>&amp;</b>") || strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;b&gt;&amp;amp;&lt;/b&gt;") {
		t.Errorf("test output is not escaped")
	}
	for _, re := range []string{`(?i)\b(src|href|action|poster)\s*=`, `(?i)url\(`, `(?i)@import`, `(?i)\bfetch\(`, `(?i)XMLHttpRequest`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page may fetch something: %q", m)
		}
	}
	if strings.ContainsAny(page, "\x00\x1b") {
		t.Errorf("page holds control characters")
	}
}

func TestHTMLTimeline(t *testing.T) {
	page := htmlOf(t, flakyRun(), HTMLOptions{})
	bars := regexp.MustCompile(`<div class="bar (\w+)" tabindex="0" style="left:([0-9.]+)%;width:([0-9.]+)%" title="([^"]*)">`).
		FindAllStringSubmatch(page, -1)
	if len(bars) != 5 {
		t.Fatalf("%d bars, want one per process (5)", len(bars))
	}
	classes := map[string]int{}
	for _, b := range bars {
		classes[b[1]]++
		var left, width float64
		fmt.Sscan(b[2], &left)
		fmt.Sscan(b[3], &width)
		if left < 0 || width <= 0 || left+width > 100.001 {
			t.Errorf("bar %s out of the track: left %v width %v", b[4], left, width)
		}
	}
	// alpha and delta passed, beta crashed, gamma's first process timed out,
	// its rerun failed (gamma::1 failed again).
	want := map[string]int{"pass": 2, "crash": 1, "timeout": 1, "fail": 1}
	if fmt.Sprint(classes) != fmt.Sprint(want) {
		t.Errorf("bar colors %v, want %v", classes, want)
	}
	if !strings.Contains(page, "pid 1002 · proc 2 · slot 1") || !strings.Contains(page, "killed by SIGSEGV") {
		t.Errorf("beta's bar lacks its details")
	}
	if n := strings.Count(page, `<div class="lane">`); n != 4 {
		t.Errorf("%d lanes, want one per slot (4)", n)
	}
}

func TestTickStep(t *testing.T) {
	tests := []struct {
		span, want time.Duration
	}{
		{900 * time.Microsecond, time.Millisecond},
		{1600 * time.Millisecond, 200 * time.Millisecond},
		{75 * time.Second, 10 * time.Second},
		{25 * time.Minute, 5 * time.Minute},
		{7 * time.Hour, time.Hour},
	}
	for _, tt := range tests {
		if got := tickStep(tt.span); got != tt.want {
			t.Errorf("tickStep(%v) = %v, want %v", tt.span, got, tt.want)
		}
	}
}

// bigRun is a realistic run for looking at: 40 suites of a compiler's tests
// on 6 slots, most passing, with a failure, a crash, a hang, a skipped
// suite and a flaky test.
func bigRun() []*event.Event {
	const slots = 6
	rng := rand.New(rand.NewPCG(1, 2))
	areas := []string{"lexer", "parser", "sema", "types", "codegen", "opt", "runtime", "stdlib"}
	type step struct {
		at time.Duration
		do func(s *stream)
	}
	var steps []step
	add := func(at time.Duration, do func(s *stream)) { steps = append(steps, step{at, do}) }
	free := make([]time.Duration, slots)
	id, expected := 0, 0
	for i := 0; i < 40; i++ {
		suite := fmt.Sprintf("%s/%s_%02d", areas[i%len(areas)], []string{"basic", "edge", "regress", "stress", "unicode"}[i%5], i)
		slot := 0
		for j := range free {
			if free[j] < free[slot] {
				slot = j
			}
		}
		id++
		pid, start := id, free[slot]+time.Duration(rng.IntN(5))*time.Millisecond
		n := 2 + rng.IntN(6)
		expected += n
		t := start
		add(t, func(s *stream) {
			s.procStart(pid, suite, suite+" --run-all", "--run-all")
			s.procs[pid].Slot = slot
		})
		exit, sig, timedOut := 0, "", false
		for k := 1; k <= n; k++ {
			test := fmt.Sprint(k)
			d := time.Duration(40+rng.ExpFloat64()*250) * time.Millisecond
			r := event.Result{Suite: suite, Test: test, Status: event.Pass, Slot: slot}
			switch {
			case i == 7 && k == 2:
				r.Status, r.ExitCode, r.Reason = event.Fail, 1, "test reported FAIL (exit code 1)"
				r.Output = []byte("compiling fold.tml\nerror: expected i32, found i64\n  --> fold.tml:12:9\nFAIL\n")
				exit = 1
			case i == 13 && k == n:
				r.Status, r.ExitCode, r.Signal, r.Reason = event.Crash, -1, "SIGSEGV", "killed by SIGSEGV"
				r.Output = []byte("gc: scanning roots\nSegmentation fault\n")
				exit, sig = -1, "SIGSEGV"
			case i == 22 && k == 2:
				d = 3 * time.Second
				r.Status, r.ExitCode, r.Signal, r.Reason = event.Timeout, -1, "SIGKILL", "timed out after 3s"
				r.Output = []byte("waiting for child <pid 4411>...\n")
				exit, sig, timedOut = -1, "SIGKILL", true
			case i == 30:
				r.Status, r.Reason = event.Skip, "needs a GPU"
				d = 5 * time.Millisecond
			case i == 35 && k == 1:
				r.Status, r.ExitCode, r.Reason = event.Fail, 1, "test reported FAIL (exit code 1)"
				r.Output = []byte("race: counter = 41, want 42\n")
				exit = 1
			}
			add(t, func(s *stream) { s.testStart(suite, test) })
			t += d
			add(t, func(s *stream) { s.testEnd(pid, r) })
			if r.Status == event.Crash || r.Status == event.Timeout {
				break
			}
		}
		t += 3 * time.Millisecond
		end := t
		add(end, func(s *stream) {
			s.procEnd(pid, exit, sig, timedOut)
			if i == 35 {
				s.st.SuitesDone--
				s.events[len(s.events)-1].Stats.SuitesDone--
			}
		})
		free[slot] = end
		if i == 35 { // rerun the failed test: it passes
			id++
			rid, rslot := id, slot
			rs := end + 10*time.Millisecond
			add(rs, func(s *stream) {
				s.procStart(rid, suite, suite+" --test-index=1", "--test-index=1")
				s.procs[rid].Slot = rslot
			})
			add(rs+time.Millisecond, func(s *stream) { s.testStart(suite, "1") })
			add(rs+180*time.Millisecond, func(s *stream) {
				s.testEnd(rid, event.Result{Suite: suite, Test: "1", Status: event.Pass, Attempt: 2, Slot: rslot})
			})
			add(rs+182*time.Millisecond, func(s *stream) { s.procEnd(rid, 0, "", false) })
			free[slot] = rs + 182*time.Millisecond
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	s := newStream(40, expected)
	last := time.Duration(0)
	for _, st := range steps {
		s.now = t0.Add(st.at)
		st.do(s)
		last = st.at
	}
	s.now = t0.Add(last + 5*time.Millisecond)
	return s.end(0, false)
}

// findChromium returns a headless-capable Chromium, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// chromiumFlags keep headless Chromium off the network and out of the user's profile.
func chromiumFlags(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile}
}

// TestHTMLInChromium loads a generated page in headless Chromium and fails
// on any JavaScript error; the script marks the page when it ran to its end.
// With VOLLEY_SCREENSHOT=/path.png it also saves a screenshot of the page.
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Skip("chromium not installed (apt-get install chromium); the page's script is not checked")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	html := htmlOf(t, bigRun(), HTMLOptions{Coverage: &CoverageSummary{Percent: 81.3, Covered: 2741, Total: 3371}})
	if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append(chromiumFlags(filepath.Join(dir, "profile")), "--enable-logging=stderr", "--v=0",
		"--dump-dom", "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "Uncaught") || strings.Contains(l, ":CONSOLE") {
			t.Errorf("console: %s", l)
		}
	}
	if !strings.Contains(stdout.String(), `data-js="ok"`) {
		t.Errorf("the page's script did not run to its end; DOM:\n%.2000s", stdout.String())
	}
	if shot := os.Getenv("VOLLEY_SCREENSHOT"); shot != "" {
		abs, err := filepath.Abs(shot)
		if err != nil {
			t.Fatal(err)
		}
		args := append(chromiumFlags(filepath.Join(dir, "profile2")), "--hide-scrollbars",
			"--window-size=1400,1000", "--screenshot="+abs, "file://"+page)
		if out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("chromium screenshot: %v\n%s", err, out)
		}
		t.Logf("screenshot in %s", abs)
	}
}
