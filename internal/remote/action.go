package remote

import (
	"fmt"
	"path"
	"sort"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/types/known/durationpb"
)

// prepared is a Spec turned into REAPI protos, with every blob the action needs.
type prepared struct {
	action  *repb.Action
	digest  *repb.Digest
	blobs   map[digestKey]blob
	outputs map[string]string // output path as sent -> path as the Spec named it
}

// prepare builds the input root, Command and Action for s.
func (c *Client) prepare(s Spec) (*prepared, error) {
	l, err := planLayout(s)
	if err != nil {
		return nil, err
	}
	root, blobs, err := l.merkle(&c.files)
	if err != nil {
		return nil, err
	}
	cmd := &repb.Command{
		Arguments:            append([]string{l.arg0}, s.Argv[1:]...),
		EnvironmentVariables: envVars(s.Env),
		WorkingDirectory:     l.workDir,
		Platform:             c.platform,
	}
	outputs := map[string]string{}
	var outPaths []string
	for _, o := range s.OutputFiles {
		p := path.Clean(strings.ReplaceAll(o, "\\", "/"))
		if _, dup := outputs[p]; !dup {
			outPaths = append(outPaths, p)
		}
		outputs[p] = o
	}
	sort.Strings(outPaths)
	if c.outputPaths {
		cmd.OutputPaths = outPaths
	} else {
		cmd.OutputFiles = outPaths
	}
	cb, err := marshal(cmd)
	if err != nil {
		return nil, err
	}
	cd := digestBytes(cb)
	blobs[keyOf(cd)] = blob{digest: cd, data: cb}
	action := &repb.Action{
		CommandDigest:   cd,
		InputRootDigest: root,
		DoNotCache:      !c.cfg.CacheResults,
		Platform:        c.platform,
	}
	if s.Timeout > 0 {
		action.Timeout = durationpb.New(s.Timeout)
	}
	ab, err := marshal(action)
	if err != nil {
		return nil, err
	}
	ad := digestBytes(ab)
	blobs[keyOf(ad)] = blob{digest: ad, data: ab}
	return &prepared{action: action, digest: ad, blobs: blobs, outputs: outputs}, nil
}

// envVars turns "K=V" entries into environment variables sorted by name, as
// the API requires; a later entry for a name wins, as with os/exec.
func envVars(env []string) []*repb.Command_EnvironmentVariable {
	m := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		m[k] = v
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	vars := make([]*repb.Command_EnvironmentVariable, 0, len(names))
	for _, k := range names {
		vars = append(vars, &repb.Command_EnvironmentVariable{Name: k, Value: m[k]})
	}
	return vars
}

// platformOf sorts properties by name (then value), as the API requires.
func platformOf(props map[string]string) *repb.Platform {
	if len(props) == 0 {
		return nil
	}
	p := &repb.Platform{}
	for k, v := range props {
		p.Properties = append(p.Properties, &repb.Platform_Property{Name: k, Value: v})
	}
	sort.Slice(p.Properties, func(i, j int) bool {
		a, b := p.Properties[i], p.Properties[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Value < b.Value
	})
	return p
}

// platformString names the platform properties for error messages.
func platformString(p *repb.Platform) string {
	if len(p.GetProperties()) == 0 {
		return "{} (no properties)"
	}
	parts := make([]string, 0, len(p.GetProperties()))
	for _, pr := range p.GetProperties() {
		parts = append(parts, fmt.Sprintf("%s=%s", pr.Name, pr.Value))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
