package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/shard"
)

// useOutputDir points the run's reports into dir, unless set explicitly.
func useOutputDir(o *runOptions) error {
	if o.outputDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.outputDir, 0o755); err != nil {
		return usage(fmt.Errorf("--output-dir %s: %v", o.outputDir, err))
	}
	if o.reports.json == "" {
		o.reports.json = filepath.Join(o.outputDir, shard.OutEvents)
	}
	if o.reports.junit == "" {
		o.reports.junit = filepath.Join(o.outputDir, shard.OutJUnit)
	}
	return nil
}

// writeShardFiles writes plan.json and a copy of the history into the
// output directory after the run.
func writeShardFiles(o *runOptions, pl *plan.Plan, historyDir string) error {
	if o.outputDir == "" {
		return nil
	}
	sp := shard.Plan{Share: pl.Share, Planned: pl.Items}
	if pl.Share != "" {
		sp.Partition = o.partition
	}
	return shard.WriteFiles(o.outputDir, sp, historyDir)
}
