package shard

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/volley-test/volley/internal/plan"
)

// FromEnv returns the shard to run: --partition, else the CI
// system's parallelism variables (Buildkite, GitLab, CircleCI, Bazel),
// split by history (time:) when no strategy is given.
func FromEnv(flag string, stderr io.Writer) (*plan.Partition, error) {
	if flag != "" {
		return plan.ParsePartition(flag)
	}
	type source struct {
		name, index, total string
		oneBased           bool
	}
	for _, src := range []source{
		{"Bazel", "TEST_SHARD_INDEX", "TEST_TOTAL_SHARDS", false},
		{"Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", false},
		{"GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", true},
		{"CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", false},
	} {
		is, ts := os.Getenv(src.index), os.Getenv(src.total)
		if is == "" || ts == "" {
			continue
		}
		i, err1 := strconv.Atoi(is)
		n, err2 := strconv.Atoi(ts)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s sharding: %s=%q, %s=%q are not numbers", src.name, src.index, is, src.total, ts)
		}
		k := i + 1
		if src.oneBased {
			k = i
		}
		if n < 1 || k < 1 || k > n {
			return nil, fmt.Errorf("%s sharding: shard %s=%s of %s=%s is out of range", src.name, src.index, is, src.total, ts)
		}
		if n == 1 {
			return nil, nil
		}
		if src.name == "Bazel" {
			// Tell Bazel this runner understands sharding.
			if f := os.Getenv("TEST_SHARD_STATUS_FILE"); f != "" {
				_ = os.WriteFile(f, nil, 0o644)
				_ = os.Chtimes(f, time.Now(), time.Now())
			}
		}
		fmt.Fprintf(stderr, "volley: %s parallelism: shard %d of %d\n", src.name, k, n)
		return &plan.Partition{Strategy: "time", K: k, N: n}, nil
	}
	return nil, nil
}
