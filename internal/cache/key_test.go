package cache

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/testenv"
)

// fixture is a suite with an executable, a declared input and env.
func fixture(t *testing.T) *protocol.Suite {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "suite.bin")
	in := filepath.Join(dir, "data", "x.txt")
	writeFile(t, exe, "binary v1")
	writeFile(t, in, "input v1")
	return &protocol.Suite{
		Name: "suite", Path: exe, Protocol: "tml", Args: []string{"-q"}, Cwd: dir,
		Env: []string{"FOO=1", "BAR=2"}, Inputs: []string{in},
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// age moves a file's mtime into the past, as if written long ago.
func age(t *testing.T, path string) time.Time {
	t.Helper()
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

// later is a clock an hour ahead, when files written by the test are old.
func later() time.Time { return time.Now().Add(time.Hour) }

func key(t *testing.T, h *Hasher, s *protocol.Suite) Key {
	t.Helper()
	k, err := h.SuiteKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyUnchanged(t *testing.T) {
	s := fixture(t)
	k1 := key(t, NewHasher(), s)
	k2 := key(t, NewHasher(), s)
	if k1.Sum != k2.Sum || !reflect.DeepEqual(k1.Parts, k2.Parts) {
		t.Fatalf("same suite, different keys:\n%v\n%v", k1, k2)
	}
	if why := Explain(k1, k2); why != nil {
		t.Errorf("Explain of equal keys = %q", why)
	}
	// Env order and a repeated variable do not matter the way the child sees them.
	s2 := *s
	s2.Env = []string{"BAR=2", "FOO=0", "FOO=1"}
	if k3 := key(t, NewHasher(), &s2); k3.Sum != k1.Sum {
		t.Errorf("env reordered: key changed: %q", Explain(k1, k3))
	}
}

func TestKeyMiss(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, s *protocol.Suite)
		want   []string
	}{
		{"executable content, new mtime", func(t *testing.T, s *protocol.Suite) {
			writeFile(t, s.Path, "binary v2") // same size
		}, []string{"executable content changed"}},
		{"env changed", func(t *testing.T, s *protocol.Suite) {
			s.Env = []string{"FOO=changed", "BAR=2"}
		}, []string{"env FOO changed"}},
		{"env set and unset", func(t *testing.T, s *protocol.Suite) {
			s.Env = []string{"FOO=1", "BAZ=3"}
		}, []string{"env BAR unset", "env BAZ set"}},
		{"input changed", func(t *testing.T, s *protocol.Suite) {
			writeFile(t, s.Inputs[0], "input v2")
		}, []string{"input INPUT changed"}},
		{"input missing", func(t *testing.T, s *protocol.Suite) {
			os.Remove(s.Inputs[0])
		}, []string{"input INPUT is missing"}},
		{"args", func(t *testing.T, s *protocol.Suite) {
			s.Args = []string{"-v"}
		}, []string{"args changed"}},
		{"interpreter", func(t *testing.T, s *protocol.Suite) {
			s.Interpreter = []string{"sh"}
		}, []string{"interpreter changed"}},
		{"cwd", func(t *testing.T, s *protocol.Suite) {
			s.Cwd = t.TempDir()
		}, []string{"working directory changed"}},
		{"protocol", func(t *testing.T, s *protocol.Suite) {
			s.Protocol = "exec"
		}, []string{"protocol changed"}},
		{"run ignored", func(t *testing.T, s *protocol.Suite) {
			s.RunIgnored = true
		}, []string{"options changed"}},
		{"input declared", func(t *testing.T, s *protocol.Suite) {
			extra := filepath.Join(filepath.Dir(s.Inputs[0]), "y.txt")
			writeFile(t, extra, "y")
			s.Inputs = append(s.Inputs, extra)
		}, []string{"input EXTRA declared"}},
		{"executable and args", func(t *testing.T, s *protocol.Suite) {
			writeFile(t, s.Path, "binary v2 longer")
			s.Args = nil
		}, []string{"executable content changed", "args changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixture(t)
			age(t, s.Path)
			age(t, s.Inputs[0])
			h := NewHasher()
			old := key(t, h, s)
			tt.change(t, s)
			k := key(t, h, s)
			if k.Sum == old.Sum {
				t.Fatal("key did not change")
			}
			var want []string
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "INPUT", s.Inputs[0])
				w = strings.ReplaceAll(w, "EXTRA", s.Inputs[len(s.Inputs)-1])
				want = append(want, w)
			}
			if got := Explain(old, k); !reflect.DeepEqual(got, want) {
				t.Errorf("Explain = %q, want %q", got, want)
			}
		})
	}
}

// A rewrite that keeps the size and restores the mtime is still noticed:
// the memo also checks ctime, which cannot be set back. (Same size, mtime,
// ctime and inode with other content is undetectable by design; see Hasher.)
func TestKeyMissSameSizeAndMtime(t *testing.T) {
	s := fixture(t)
	mtime := age(t, s.Path)
	h := NewHasher()
	h.recent = 0 // memoize at once, so only the file identity can save us
	old := key(t, h, s)
	if _, ok := h.memo[s.Path]; !ok {
		t.Fatal("executable hash not memoized")
	}
	// Rewrite until the ctime moves (its clock is coarse, a few ms).
	before := h.memo[s.Path].Ctime
	deadline := time.Now().Add(testenv.Scale(10 * time.Second))
	for {
		writeFile(t, s.Path, "binary v2")
		if err := os.Chtimes(s.Path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(s.Path)
		if err != nil {
			t.Fatal(err)
		}
		if idOf(fi).Ctime != before {
			break
		}
		if time.Now().After(deadline) {
			t.Skip("the file system keeps no ctime that changes")
		}
	}
	k := key(t, h, s)
	if got, want := Explain(old, k), []string{"executable content changed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestHasherMemo(t *testing.T) {
	s := fixture(t)
	h := NewHasher()
	key(t, h, s)
	if h.reads != 2 {
		t.Fatalf("first key read %d files, want 2", h.reads)
	}
	// Just written: hashed again, since a rewrite in the same timestamp
	// tick could go unnoticed.
	key(t, h, s)
	if h.reads != 4 {
		t.Fatalf("recent files: %d reads, want 4", h.reads)
	}
	h.now = later // the files are now old enough to memoize
	key(t, h, s)
	key(t, h, s)
	if h.reads != 6 {
		t.Fatalf("old files: %d reads, want 6 (memoized after one)", h.reads)
	}
}

// The memo is saved with the store, so another run does not re-read an
// unchanged tree.
func TestHasherMemoPersisted(t *testing.T) {
	s := fixture(t)
	dir := t.TempDir()
	st, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.Hasher().now = later
	k1 := key(t, st.Hasher(), s)
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	st2, warn, err := Open(dir)
	if err != nil || warn != nil {
		t.Fatal(err, warn)
	}
	k2 := key(t, st2.Hasher(), s)
	if n := st2.Hasher().reads; n != 0 {
		t.Errorf("second run read %d files, want 0", n)
	}
	if k1.Sum != k2.Sum {
		t.Errorf("key changed across runs: %q", Explain(k1, k2))
	}
	writeFile(t, s.Inputs[0], "input v2")
	if k3 := key(t, st2.Hasher(), s); k3.Sum == k2.Sum {
		t.Error("changed input not noticed through the persisted memo")
	}
}

func TestInputDirectory(t *testing.T) {
	s := fixture(t)
	dir := filepath.Dir(s.Inputs[0])
	s.Inputs = []string{dir}
	h := NewHasher()
	old := key(t, h, s)
	writeFile(t, filepath.Join(dir, "sub", "new.txt"), "new")
	k := key(t, h, s)
	if got, want := Explain(old, k), []string{"input " + dir + " changed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Explain = %q, want %q", got, want)
	}
}

func TestKeyMissingExecutable(t *testing.T) {
	s := fixture(t)
	s.Path = filepath.Join(t.TempDir(), "nope")
	if _, err := NewHasher().SuiteKey(s); err == nil {
		t.Error("no error for a missing executable")
	}
}
