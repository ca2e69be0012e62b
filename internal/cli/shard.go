package cli

import (
	"io"

	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/shard"
)

// partitionFromEnv returns the shard to run: --partition, else the CI
// system's parallelism variables (see shard.FromEnv).
func partitionFromEnv(flag string, stderr io.Writer) (*plan.Partition, error) {
	return shard.FromEnv(flag, stderr)
}
