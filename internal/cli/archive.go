package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/volley-test/volley/internal/archive"
	"github.com/volley-test/volley/internal/shard"
	"github.com/volley-test/volley/internal/statedir"
)

func newArchiveCmd() *cobra.Command {
	o := defaultRunOptions()
	var out string
	var include []string
	var noHistory bool
	c := &cobra.Command{
		Use:   "archive -o FILE [--config FILE] [--include GLOB]...",
		Short: "Pack the suites of volley.toml, their inputs and the config into a tar.gz",
		Long: `Pack everything a run of volley.toml needs into FILE (a gzipped tar with a
manifest), to run it on another machine with volley test --archive FILE.

Packed, relative to the config's directory: volley.toml, every suite executable
(a symlink is resolved: the target's content is stored under the link's path),
the suites' declared inputs, the files matching --include (globs relative to the
config's directory, e.g. --include 'testdata/*'), the suites' working
directories, and the history (.volley/history.json), so that shards on other
machines cut the same --partition time:K/N plan. Interpreters and tools the
tests run are not packed. Paths must be relative and inside the config's
directory.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if out == "" {
				return usage(errors.New("archive: -o FILE is required"))
			}
			m, err := writeArchive(&o, out, include, !noHistory)
			if err != nil {
				return err
			}
			var size int64
			if fi, err := os.Stat(out); err == nil {
				size = fi.Size()
			}
			fmt.Fprintf(c.OutOrStdout(), "volley: archived %d suites, %d files (%d bytes) into %s\n",
				len(m.Suites), len(m.Files), size, out)
			return nil
		},
	}
	fs := c.Flags()
	fs.StringVarP(&out, "output", "o", "", "write the archive to `FILE`")
	fs.StringVar(&o.configPath, "config", "", "read `FILE` instead of the nearest volley.toml")
	fs.StringVar(&o.stateDir, "state-dir", "", "take the history from `DIR` (default .volley next to volley.toml)")
	fs.StringArrayVar(&include, "include", nil, "also pack the files matching `GLOB` (relative to the config's directory; repeatable)")
	fs.BoolVar(&noHistory, "no-history", false, "do not pack the history")
	return c
}

// writeArchive packs the run of the config o names into out.
func writeArchive(o *runOptions, out string, include []string, history bool) (*archive.Manifest, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(o, cwd)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, usage(errors.New("archive: no volley.toml found (an archive packs the suites a volley.toml describes; see --config)"))
	}
	ao := archive.Options{Config: cfg, Include: include, Volley: Version}
	if history {
		// The history (--state-dir, else the config's) goes where the
		// extracted config's state directory will be, when that is inside
		// the extraction.
		ao.History = filepath.Join(stateDir(o, cfg, cwd), shard.OutHistory)
		ao.HistoryAt = filepath.Join(statedir.OfConfig(cfg), shard.OutHistory)
	}
	m, err := archive.Create(out, ao)
	if err != nil {
		return nil, usage(err)
	}
	return m, nil
}

// extractArchive unpacks an archive written by `volley archive` into a new
// temporary directory and returns the path of its volley.toml there, and
// the function that removes the directory.
func extractArchive(path string) (configPath string, cleanup func(), err error) {
	root, err := os.MkdirTemp("", "volley-archive-")
	if err != nil {
		return "", nil, fmt.Errorf("--archive %s: %w", path, err)
	}
	cleanup = func() { os.RemoveAll(root) }
	m, err := archive.Extract(path, root)
	if err != nil {
		cleanup()
		return "", nil, usage(fmt.Errorf("--archive %s: %v", path, err))
	}
	return filepath.Join(root, filepath.FromSlash(m.Config)), cleanup, nil
}
