// Command corpus writes a fixture corpus for the benchmarks in bench/.
//
//	go run ./bench/corpus -exe /tmp/volley -kind seed -out DIR [-scale F] [-mean DUR] [-cpu]
//	go run ./bench/corpus -exe /tmp/volley -kind exec -out DIR -n N
//
// -kind seed writes fixture.Seed(scale) (tml suites + volley.toml); -kind
// exec writes N trivial exec tests t0000, t0001, ... (no config). With
// -stats it prints the corpus shape (suites, tests, total and longest-suite
// sleep time, in seconds) so a script can see the bound on speedup.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/fixture"
)

func main() {
	exe := flag.String("exe", "", "path of the volley executable the suites link to (required)")
	kind := flag.String("kind", "seed", "corpus kind: seed or exec")
	out := flag.String("out", "", "directory to write (required)")
	scale := flag.Float64("scale", 1, "seed: size relative to the original (454 suites, 3632 tests)")
	mean := flag.Duration("mean", 0, "seed: mean test duration (0: Seed's default, 20ms)")
	cpu := flag.Bool("cpu", false, "seed: burn CPU instead of sleeping")
	n := flag.Int("n", 2000, "exec: number of tests")
	failures := flag.Int("failures", 0, "seed: tests that fail (a FATAL line and exit 1, as TML tests do)")
	crashes := flag.Int("crashes", 0, "seed: tests that crash (SIGSEGV)")
	stats := flag.Bool("stats", false, "seed: print the corpus shape after writing it")
	flag.Parse()
	if *exe == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "corpus: -exe and -out are required")
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch *kind {
	case "seed":
		c := fixture.Seed(*scale)
		if *mean > 0 {
			c.Mean = *mean
		}
		c.CPU = *cpu
		c.Failures, c.Crashes = *failures, *crashes
		if err = fixture.WriteCorpus(*out, *exe, c); err == nil && *stats {
			err = printStats(*out, c)
		}
	case "exec":
		err = fixture.WriteExecCorpus(*out, *exe, *n)
	default:
		err = fmt.Errorf("unknown -kind %q: want seed or exec", *kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpus:", err)
		os.Exit(1)
	}
}

// printStats sums the sleep=/cpu= durations of each written suite spec.
func printStats(dir string, c fixture.Corpus) error {
	specs, err := filepath.Glob(filepath.Join(dir, "*_test"+fixture.SidecarExt))
	if err != nil {
		return err
	}
	var total time.Duration
	type suite struct {
		name  string
		tests int
		d     time.Duration
	}
	var all []suite
	for _, p := range specs {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		s := suite{name: strings.TrimSuffix(filepath.Base(p), fixture.SidecarExt)}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "test") {
				s.tests++
			}
			for _, w := range strings.Fields(line) {
				for _, pre := range []string{"sleep=", "cpu="} {
					if v, ok := strings.CutPrefix(w, pre); ok {
						if d, err := time.ParseDuration(v); err == nil {
							s.d += d
						}
					}
				}
			}
		}
		f.Close()
		total += s.d
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].d > all[j].d })
	fmt.Printf("suites=%d tests=%d total=%.3f", c.Suites, c.Tests, total.Seconds())
	if len(all) > 0 {
		fmt.Printf(" longest=%.3f longest_suite=%s longest_tests=%d", all[0].d.Seconds(), all[0].name, all[0].tests)
	}
	fmt.Println()
	return nil
}
