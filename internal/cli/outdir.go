package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/fileutil"

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
// output directory after the run (the reports are closed by then). A
// --json or --junit file named elsewhere is kept there and copied in, so
// the directory is complete for `volley merge`.
func writeShardFiles(o *runOptions, pl *plan.Plan, historyDir string) error {
	if o.outputDir == "" {
		return nil
	}
	sp := shard.Plan{Share: pl.Share, Planned: pl.Items}
	if pl.Share != "" {
		sp.Partition = o.partition
	}
	if err := shard.WriteFiles(o.outputDir, sp, historyDir); err != nil {
		return err
	}
	for _, f := range []struct{ path, name string }{{o.reports.json, shard.OutEvents}, {o.reports.junit, shard.OutJUnit}} {
		dst := filepath.Join(o.outputDir, f.name)
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
