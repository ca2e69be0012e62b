package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	nested := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory named volley.toml is not a config file.
	if err := os.MkdirAll(filepath.Join(root, "a", "b", FileName), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := Find(nested)
	switch {
	case err != nil:
		t.Fatal(err)
	case got == filepath.Join(root, "a", "b", FileName):
		t.Fatalf("Find took a directory for the file: %s", got)
	case got != "":
		t.Skipf("a %s exists above the temp dir: %s", FileName, got)
	}

	top := filepath.Join(root, FileName)
	mid := filepath.Join(root, "a", FileName)
	for _, p := range []string{top, mid} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ from, want string }{
		{nested, mid},
		{filepath.Join(root, "a"), mid},
		{root, top},
	}
	for _, tt := range tests {
		got, err := Find(tt.from)
		if err != nil || got != tt.want {
			t.Errorf("Find(%s) = %q, %v; want %q", tt.from, got, err, tt.want)
		}
	}

	// A relative start is resolved against the working directory.
	t.Chdir(nested)
	if got, err := Find("."); err != nil || got != mid {
		t.Errorf("Find(.) = %q, %v; want %q", got, err, mid)
	}
}
