package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/remote"
)

// dialTimeout bounds connecting to a remote execution service.
const dialTimeout = 30 * time.Second

// dialRemote connects to the --remote service, or returns nil when remote
// execution is off.
func dialRemote(o *runOptions) (*remote.Client, error) {
	if o.remote.url == "" {
		return nil, nil
	}
	if o.remote.jobs < 1 {
		return nil, usage(fmt.Errorf("--remote-jobs %d: must be at least 1", o.remote.jobs))
	}
	platform := map[string]string{}
	for _, kv := range o.remote.platform {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usage(fmt.Errorf("--remote-platform %q: want KEY=VALUE", kv))
		}
		platform[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := remote.Dial(ctx, remote.Config{
		URL: o.remote.url, Instance: o.remote.instance, Platform: platform, Jobs: o.remote.jobs,
		HeadersEnv: o.remote.headersEnv, HeadersFile: o.remote.headersFile, CACert: o.remote.caCert,
		CacheResults: o.remote.cache,
	})
	if err != nil {
		return nil, usage(fmt.Errorf("remote execution: %w", err))
	}
	return c, nil
}
