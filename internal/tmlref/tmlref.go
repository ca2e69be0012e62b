// Package tmlref builds reference TML suites: small C programs, compiled
// with the machine's C compiler, that behave in every point like the suite
// executables the TML compiler generates (its test dispatcher and runtime):
// argument handling and the 98/99 exits on stdout, `--run-all` result lines
// flushed after every test file that returns, a failing assertion or panic
// writing the runtime's FATAL line to stderr and calling exit(1),
// should_panic, a user main's return value, and the coverage file rewritten
// (truncated) after every test file that returns.
//
// volley's tests run them beside volley's own fixture so that the tml
// protocol is checked against the real producer's behaviour, not against
// assumptions about it.
package tmlref

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Step is one thing a test file does, in order.
type Step struct {
	Op   string // cover, sleep, fail, panic, crash, hang, should_panic, no_panic, return, print
	Arg  string
	Num  int
	Args []string
}

// File is one test file of a suite: test index i is File i.
type File struct {
	Path  string // the .test.tml path the FATAL lines name
	Steps []Step
}

// Parse reads a suite spec: test files separated by ';', each a list of
// steps separated by blanks:
//
//	pass                  nothing (the file passes)
//	cover=a,Type::m       tml_cover_func for each name
//	sleep=MS              sleep that many milliseconds
//	print=TEXT            printf TEXT and a newline on stdout (%20 is a blank)
//	fail=MSG              a failed assert: FATAL on stderr, exit(1)
//	panic=MSG             panic(): FATAL panic: MSG on stderr, exit(1)
//	crash                 a null pointer write (SIGSEGV)
//	hang                  block forever
//	should_panic=MSG      a @should_panic test that panics: caught, passes
//	no_panic              a @should_panic test that returns: exit(1)
//	return=N              a user main returning N
func Parse(spec string) ([]File, error) {
	var files []File
	for i, part := range strings.Split(spec, ";") {
		f := File{Path: fmt.Sprintf("tests/file%d.test.tml", i)}
		for _, w := range strings.Fields(part) {
			op, arg, _ := strings.Cut(w, "=")
			arg = strings.ReplaceAll(arg, "%20", " ")
			st := Step{Op: op, Arg: arg}
			switch op {
			case "pass", "crash", "hang", "no_panic":
			case "cover":
				st.Args = strings.Split(arg, ",")
			case "sleep", "return":
				n, err := strconv.Atoi(arg)
				if err != nil {
					return nil, fmt.Errorf("file %d: %s: want a number, got %q", i, op, arg)
				}
				st.Num = n
			case "print", "fail", "panic", "should_panic":
			default:
				return nil, fmt.Errorf("file %d: unknown step %q", i, w)
			}
			f.Steps = append(f.Steps, st)
		}
		files = append(files, f)
	}
	if strings.TrimSpace(spec) == "" {
		files = nil
	}
	return files, nil
}

// Build writes the C source of a suite of files to dir/name.c and
// compiles it to dir/name, returning the executable's path.
func Build(dir, name string, files []File) (string, error) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		if cc, err = exec.LookPath("gcc"); err != nil {
			return "", errors.New("no C compiler (cc or gcc) on PATH: install gcc")
		}
	}
	src := filepath.Join(dir, name+".c")
	if err := os.WriteFile(src, []byte(Source(files)), 0o644); err != nil {
		return "", err
	}
	exe := filepath.Join(dir, name)
	if out, err := exec.Command(cc, "-O1", "-o", exe, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", cc, src, err, out)
	}
	return exe, nil
}

// cstr quotes s as a C string literal.
func cstr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range []byte(s) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Source is the C program for a suite of files.
func Source(files []File) string {
	var b strings.Builder
	b.WriteString(runtime)
	for i, f := range files {
		fmt.Fprintf(&b, "\nstatic int tml_test_%d(void) {\n", i)
		line := 1
		ret := "0"
		for _, s := range f.Steps {
			line++
			switch s.Op {
			case "cover":
				for _, n := range s.Args {
					fmt.Fprintf(&b, "  tml_cover_func(%s);\n", cstr(n))
				}
			case "sleep":
				fmt.Fprintf(&b, "  sleep_ms(%d);\n", s.Num)
			case "print":
				fmt.Fprintf(&b, "  printf(\"%%s\\n\", %s);\n", cstr(s.Arg))
			case "fail":
				fmt.Fprintf(&b, "  assert_tml_loc(0, %s, %s, %d);\n", cstr(s.Arg), cstr(f.Path), line)
			case "panic":
				fmt.Fprintf(&b, "  panic(%s);\n", cstr(s.Arg))
			case "crash":
				b.WriteString("  { volatile int *p = 0; *p = 1; }\n")
			case "hang":
				b.WriteString("  for (;;) pause();\n")
			case "should_panic":
				fmt.Fprintf(&b, "  if (tml_run_should_panic(%s)) { printf(\"test did not panic as expected\\n\"); fflush(stdout); exit(1); }\n", cstr(s.Arg))
			case "no_panic":
				b.WriteString("  if (tml_run_should_panic(NULL)) { printf(\"test did not panic as expected\\n\"); fflush(stdout); exit(1); }\n")
			case "return":
				ret = strconv.Itoa(s.Num)
			}
		}
		// The generated test calls every @test function and returns 0; a
		// file with a user main returns main's value. Coverage is written
		// at the end of every file that returns.
		fmt.Fprintf(&b, "  tml_write_coverage();\n  return %s;\n}\n", ret)
	}
	n := len(files)
	fmt.Fprintf(&b, "\nstatic int (*tests[])(void) = {")
	for i := range n {
		fmt.Fprintf(&b, "tml_test_%d, ", i)
	}
	fmt.Fprintf(&b, "0};\nstatic const int total_tests = %d;\n", n)
	b.WriteString(dispatcher)
	return b.String()
}

// runtime is the part of TML's runtime the generated tests call.
const runtime = `#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define COVER_MAX 4093
static char cover_names[COVER_MAX][192];
static int cover_count;

static void tml_cover_func(const char *name) {
  for (int i = 0; i < cover_count; i++)
    if (strcmp(cover_names[i], name) == 0) return;
  if (cover_count >= COVER_MAX) return; /* silently full */
  snprintf(cover_names[cover_count++], 192, "%s", name);
}

static void tml_write_coverage(void) {
  const char *path = getenv("TML_COVERAGE_FILE");
  if (!path || !*path || cover_count == 0) return;
  FILE *f = fopen(path, "w");
  if (!f) return;
  for (int i = 0; i < cover_count; i++) fprintf(f, "%s\n", cover_names[i]);
  fclose(f);
}

static void rt_fatal(const char *msg) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  fprintf(stderr, "%02d:%02d:%02d.%03d FATAL [runtime] %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
          (int)(tv.tv_usec / 1000), msg);
}

static int tml_catching_panic;
static jmp_buf tml_panic_jmp_buf;
static char tml_panic_msg[1024];

static void panic(const char *message) {
  if (tml_catching_panic) {
    snprintf(tml_panic_msg, sizeof tml_panic_msg, "%s", message ? message : "");
    longjmp(tml_panic_jmp_buf, 1);
  }
  char buf[1100];
  snprintf(buf, sizeof buf, "panic: %s", message ? message : "(null)");
  rt_fatal(buf);
  exit(1);
}

static void assert_tml_loc(int cond, const char *message, const char *file, int line) {
  if (cond) return;
  static char msg[2048];
  snprintf(msg, sizeof msg, "assertion failed at %s:%d: %s", file ? file : "<unknown>", line,
           message ? message : "(no message)");
  if (tml_catching_panic) {
    snprintf(tml_panic_msg, sizeof tml_panic_msg, "%s", msg);
    longjmp(tml_panic_jmp_buf, 1);
  }
  rt_fatal(msg);
  exit(1);
}

/* Runs a @should_panic body; returns 1 when it did not panic. A body is
   given by the message it panics with, NULL for one that returns. */
static int tml_run_should_panic(const char *panics_with) {
  tml_catching_panic = 1;
  if (setjmp(tml_panic_jmp_buf) == 0) {
    if (panics_with) panic(panics_with);
    tml_catching_panic = 0;
    return 1;
  }
  tml_catching_panic = 0;
  return 0;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {}
}
`

// dispatcher is the generated main: argument scan, --run-all and
// --test-index=N exactly as the TML compiler emits them.
const dispatcher = `
static int run_all_tests(void) {
  int fails = 0;
  for (int i = 0; i < total_tests; i++) {
    int rc = tests[i]();
    if (rc == 0) printf("TML_RESULT:%d:PASS:%d\n", i, 0);
    else printf("TML_RESULT:%d:FAIL:%d\n", i, rc);
    fflush(NULL);
    if (rc != 0) fails++;
  }
  return fails != 0 ? 1 : 0;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--run-all") == 0) return run_all_tests();
    if (strncmp(argv[i], "--test-index=", 13) == 0) {
      int n = atoi(argv[i] + 13);
      if (n >= 0 && n < total_tests) return tests[n]();
      printf("ERROR: invalid test index %d\n", n);
      return 99;
    }
  }
  printf("ERROR: --test-index=N argument required\n");
  return 98;
}
`
