package shard

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
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
	return copyIfExists(filepath.Join(historyDir, OutHistory), filepath.Join(dir, OutHistory))
}

// copyIfExists copies the file from to to; a missing from is no error.
func copyIfExists(from, to string) error {
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
