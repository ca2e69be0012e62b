// Package statedir says where volley keeps its memory between runs: the
// history and result cache, the quarantine list, coverage data.
package statedir

import (
	"path/filepath"

	"github.com/volley-test/volley/internal/config"
)

// Dir is the state directory: flag (--state-dir) when set, else the
// config's state_dir (default .volley next to volley.toml), else .volley in
// cwd when there is no config.
func Dir(flag string, cfg *config.File, cwd string) string {
	switch {
	case flag != "":
		return flag
	case cfg != nil && cfg.StateDir != "":
		return cfg.StateDir
	}
	return filepath.Join(cwd, config.DefaultStateDir)
}

// OfConfig is the state directory a run of cfg uses by default, without
// --state-dir, from the config's own directory: where an archive of cfg
// puts the history.
func OfConfig(cfg *config.File) string { return Dir("", cfg, cfg.Dir) }
