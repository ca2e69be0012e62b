package testrun

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/fileutil"
	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/shard"
)

// useOutputDir points the run's event log and JUnit report into
// c.OutputDir, unless set explicitly.
func useOutputDir(c *Config) error {
	if c.OutputDir == "" {
		return nil
	}
	if err := os.MkdirAll(c.OutputDir, 0o755); err != nil {
		return usage(fmt.Errorf("--output-dir %s: %v", c.OutputDir, err))
	}
	if c.Reports.JSON == "" {
		c.Reports.JSON = filepath.Join(c.OutputDir, shard.OutEvents)
	}
	if c.Reports.JUnit == "" {
		c.Reports.JUnit = filepath.Join(c.OutputDir, shard.OutJUnit)
	}
	return nil
}

// writeShardFiles writes plan.json and a copy of the history (from
// c.StateDir) into the output directory after the run (the reports are
// closed by then). A --json or --junit file named elsewhere is kept there
// and copied in, so the directory is complete for `volley merge`.
func writeShardFiles(c *Config, pl *plan.Plan) error {
	if c.OutputDir == "" {
		return nil
	}
	sp := shard.Plan{Share: pl.Share, Planned: pl.Items}
	if pl.Share != "" {
		sp.Partition = c.Partition
	}
	if err := shard.WriteFiles(c.OutputDir, sp, c.StateDir); err != nil {
		return err
	}
	for _, f := range []struct{ path, name string }{{c.Reports.JSON, shard.OutEvents}, {c.Reports.JUnit, shard.OutJUnit}} {
		dst := filepath.Join(c.OutputDir, f.name)
		if f.path == "" || f.path == "-" || sameFile(f.path, dst) {
			continue
		}
		if err := fileutil.Copy(f.path, dst); err != nil {
			return err
		}
	}
	return nil
}

// sameFile reports whether a and b name the same file (or the same path).
func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
