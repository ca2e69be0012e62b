package statedir

import (
	"path/filepath"
	"testing"

	"github.com/volley-test/volley/internal/config"
)

func TestDir(t *testing.T) {
	cfg := &config.File{Dir: "/p", StateDir: "/p/.state"}
	for _, c := range []struct {
		name, flag string
		cfg        *config.File
		want       string
	}{
		{"flag wins", "/s", cfg, "/s"},
		{"config's state_dir", "", cfg, "/p/.state"},
		{"config without one", "", &config.File{Dir: "/p"}, filepath.Join("/cwd", config.DefaultStateDir)},
		{"no config", "", nil, filepath.Join("/cwd", config.DefaultStateDir)},
	} {
		if got := Dir(c.flag, c.cfg, "/cwd"); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if got := OfConfig(&config.File{Dir: "/p"}); got != filepath.Join("/p", config.DefaultStateDir) {
		t.Errorf("OfConfig without state_dir: %s", got)
	}
}
