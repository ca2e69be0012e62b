package remote

import (
	"path/filepath"
	"slices"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
)

func decode[M proto.Message](t *testing.T, p *prepared, d *repb.Digest, m M) M {
	t.Helper()
	b, ok := p.blobs[keyOf(d)]
	if !ok {
		t.Fatalf("blob %s not among the action's blobs", keyOf(d))
	}
	data, err := b.bytes()
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPrepare(t *testing.T) {
	cwd, _ := project(t, toolScript)
	c := &Client{cfg: Config{CacheResults: false}, outputPaths: true,
		platform: platformOf(map[string]string{"pool": "x", "OSFamily": "linux", "arch": "amd64"})}
	sp := toolSpec(cwd, "a")
	sp.Env = append(sp.Env, "ZED=1", "ALPHA=2", "FOO=last")
	sp.OutputFiles = []string{"z.out", "cov/out.txt", "./a.out"}
	p, err := c.prepare(sp)
	if err != nil {
		t.Fatal(err)
	}
	a := p.action
	if !a.DoNotCache || a.Timeout.AsDuration() != sp.Timeout {
		t.Errorf("action: do_not_cache %v timeout %v", a.DoNotCache, a.Timeout.AsDuration())
	}
	cmd := decode(t, p, a.CommandDigest, &repb.Command{})
	if want := []string{"../bin/tool.sh", "a"}; !slices.Equal(cmd.Arguments, want) {
		t.Errorf("arguments = %q, want %q", cmd.Arguments, want)
	}
	var env []string
	for _, v := range cmd.EnvironmentVariables {
		env = append(env, v.Name+"="+v.Value)
	}
	if want := []string{"ALPHA=2", "FOO=last", "PATH=/usr/bin:/bin", "ZED=1"}; !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	if want := []string{"a.out", "cov/out.txt", "z.out"}; !slices.Equal(cmd.OutputPaths, want) || len(cmd.OutputFiles) != 0 {
		t.Errorf("output paths = %q files %q, want %q", cmd.OutputPaths, cmd.OutputFiles, want)
	}
	if cmd.WorkingDirectory != "pkg" {
		t.Errorf("working directory = %q", cmd.WorkingDirectory)
	}
	if got := platformString(cmd.Platform); got != "{OSFamily=linux, arch=amd64, pool=x}" {
		t.Errorf("platform = %s", got)
	}

	root := decode(t, p, a.InputRootDigest, &repb.Directory{})
	if len(root.Files) != 0 || len(root.Directories) != 2 || root.Directories[0].Name != "bin" || root.Directories[1].Name != "pkg" {
		t.Fatalf("root = %v", root)
	}
	bin := decode(t, p, root.Directories[0].Digest, &repb.Directory{})
	if len(bin.Files) != 1 || bin.Files[0].Name != "tool.sh" || !bin.Files[0].IsExecutable {
		t.Errorf("bin = %v", bin)
	}
	pkg := decode(t, p, root.Directories[1].Digest, &repb.Directory{})
	td := decode(t, p, pkg.Directories[0].Digest, &repb.Directory{})
	if pkg.Directories[0].Name != "testdata" || td.Files[0].Name != "in.txt" || td.Files[0].IsExecutable {
		t.Errorf("pkg = %v, testdata = %v", pkg, td)
	}

	again, err := c.prepare(sp)
	if err != nil {
		t.Fatal(err)
	}
	if keyOf(again.digest) != keyOf(p.digest) {
		t.Error("action digest is not deterministic")
	}
}

func TestPrepareBareArg0InCwd(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "t"), "#!/bin/sh\n", 0o755)
	c := &Client{outputPaths: false}
	p, err := c.prepare(Spec{Argv: []string{"t"}, Cwd: dir, OutputFiles: []string{"o"}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := decode(t, p, p.action.CommandDigest, &repb.Command{})
	if cmd.Arguments[0] != "./t" || cmd.WorkingDirectory != "" || !slices.Equal(cmd.OutputFiles, []string{"o"}) {
		t.Errorf("command = %v", cmd)
	}
}

// rewriteArg0 rebuilds p with another arguments[0].
func rewriteArg0(t *testing.T, c *Client, p *prepared, arg0 string) *prepared {
	t.Helper()
	cmd := decode(t, p, p.action.CommandDigest, &repb.Command{})
	cmd.Arguments[0] = arg0
	cb, _ := marshal(cmd)
	cd := digestBytes(cb)
	p.blobs[keyOf(cd)] = blob{digest: cd, data: cb}
	action := proto.Clone(p.action).(*repb.Action)
	action.CommandDigest = cd
	ab, _ := marshal(action)
	ad := digestBytes(ab)
	p.blobs[keyOf(ad)] = blob{digest: ad, data: ab}
	return &prepared{action: action, digest: ad, blobs: p.blobs, outputs: p.outputs}
}
