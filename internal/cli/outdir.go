package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/plan"
)

// Files of a shard's output directory (--output-dir), read by `volley merge`.
const (
	OutEvents  = "events.json"
	OutJUnit   = "junit.xml"
	OutPlan    = "plan.json"
	OutHistory = "history.json"
)

// shardPlan is plan.json: what the whole run planned and this shard's part.
type shardPlan struct {
	Partition string   `json:"partition,omitempty"`
	Share     string   `json:"share,omitempty"`
	Planned   []string `json:"planned"` // every test id (or whole suite) of the unsharded plan
}

// useOutputDir points the run's reports into dir, unless set explicitly.
func useOutputDir(o *runOptions) error {
	if o.outputDir == "" {
		return nil
	}
	if err := os.MkdirAll(o.outputDir, 0o755); err != nil {
		return usage(fmt.Errorf("--output-dir %s: %v", o.outputDir, err))
	}
	if o.reports.json == "" {
		o.reports.json = filepath.Join(o.outputDir, OutEvents)
	}
	if o.reports.junit == "" {
		o.reports.junit = filepath.Join(o.outputDir, OutJUnit)
	}
	return nil
}

// writeShardFiles writes plan.json and a copy of the history into the
// output directory after the run.
func writeShardFiles(o *runOptions, pl *plan.Plan, historyDir string) error {
	if o.outputDir == "" {
		return nil
	}
	sp := shardPlan{Share: pl.Share, Planned: pl.Items}
	if pl.Share != "" {
		sp.Partition = o.partition
	}
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.outputDir, OutPlan), append(b, '\n'), 0o644); err != nil {
		return err
	}
	// A --json or --junit file named elsewhere is kept there and copied
	// in, so the directory is complete for `volley merge`.
	for _, f := range []struct{ path, name string }{{o.reports.json, OutEvents}, {o.reports.junit, OutJUnit}} {
		dst := filepath.Join(o.outputDir, f.name)
		if f.path == "" || f.path == "-" || sameFile(f.path, dst) {
			continue
		}
		if err := copyFile(f.path, dst); err != nil {
			return err
		}
	}
	return copyFile(filepath.Join(historyDir, OutHistory), filepath.Join(o.outputDir, OutHistory))
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
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
