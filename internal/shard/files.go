package shard

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/volley-test/volley/internal/fileutil"
)

// Files of a shard's output directory (--output-dir), read by Merge.
const (
	OutEvents  = "events.json"
	OutJUnit   = "junit.xml"
	OutPlan    = "plan.json"
	OutHistory = "history.json"
	OutCover   = "coverage" // the coverage directory, when the run collected coverage
)

// Plan is plan.json: what the whole run planned and this shard's part.
type Plan struct {
	Partition string   `json:"partition,omitempty"`
	Share     string   `json:"share,omitempty"`
	Planned   []string `json:"planned"` // every test id (or whole suite) of the unsharded plan
}

// WriteFiles writes plan.json and a copy of the history (historyDir's
// history.json, when there is one) into the output directory dir.
func WriteFiles(dir string, p Plan, historyDir string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, OutPlan), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return fileutil.CopyIfExists(filepath.Join(historyDir, OutHistory), filepath.Join(dir, OutHistory))
}
