package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/remote"
)

// patienceVar overrides how long volley waits out a remote service that is
// unreachable, busy or without workers (a Go duration; default
// remote.DefaultPatience).
const patienceVar = "VOLLEY_REMOTE_PATIENCE"

// dialRemote connects to the --remote service, or returns nil when remote
// execution is off. A setting the service rejects is a usage error (exit
// 2); a service that stays unreachable is an incomplete run (exit 3).
func dialRemote(o *runOptions, stderr io.Writer) (*remote.Client, error) {
	if o.remote.url == "" {
		var set []string
		if o.remote.instance != "" {
			set = append(set, "--remote-instance")
		}
		if len(o.remote.platform) > 0 {
			set = append(set, "--remote-platform")
		}
		if len(set) > 0 {
			return nil, usage(fmt.Errorf("%s without --remote: name the service with --remote grpc://HOST:PORT, or drop %s to run locally",
				strings.Join(set, " and "), strings.Join(set, " and ")))
		}
		return nil, nil
	}
	if o.remote.jobs < 1 {
		return nil, usage(fmt.Errorf("--remote-jobs %d: must be at least 1", o.remote.jobs))
	}
	platform, err := remotePlatform(o)
	if err != nil {
		return nil, err
	}
	patience := remote.DefaultPatience
	if v := os.Getenv(patienceVar); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, usage(fmt.Errorf("$%s=%q: want a positive duration such as 2m", patienceVar, v))
		}
		patience = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience+30*time.Second)
	defer cancel()
	c, err := remote.Dial(ctx, remote.Config{
		URL: o.remote.url, Instance: o.remote.instance, Platform: platform, Jobs: o.remote.jobs,
		HeadersEnv: o.remote.headersEnv, HeadersFile: o.remote.headersFile, CACert: o.remote.caCert,
		CacheResults: o.remote.cache, Patience: patience,
		Progress: func(m string) { fmt.Fprintf(stderr, "volley: remote: %s\n", m) },
	})
	if err != nil {
		return nil, remoteFailure(fmt.Errorf("remote execution: %w", err))
	}
	return c, nil
}

func remotePlatform(o *runOptions) (map[string]string, error) {
	platform := map[string]string{}
	for _, kv := range o.remote.platform {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usage(fmt.Errorf("--remote-platform %q: want KEY=VALUE", kv))
		}
		platform[k] = v
	}
	return platform, nil
}

// remoteFailure maps an error that stopped remote execution to its exit
// code: a service unusable for longer than the patience did not let the run
// complete (3); anything else is a setting to fix (2).
func remoteFailure(err error) error {
	var oe *remote.OutageError
	if errors.As(err, &oe) {
		return incomplete(err)
	}
	return usage(err)
}

// remoteExecutor names where the tests run, for the result cache key: ""
// locally, else the service, instance and platform, so that a result from
// one is never served for another.
func remoteExecutor(o *runOptions) string {
	if o.remote.url == "" {
		return ""
	}
	props := append([]string(nil), o.remote.platform...)
	sort.Strings(props)
	return fmt.Sprintf("remote %s instance=%q platform=%s", o.remote.url, o.remote.instance, strings.Join(props, ","))
}
