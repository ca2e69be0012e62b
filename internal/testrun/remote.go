package testrun

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
// execution is off. A setting the service rejects is a Usage error; a
// service that stays unreachable is an Incomplete run.
func dialRemote(c *Config, stderr io.Writer) (*remote.Client, error) {
	r := &c.Remote
	if r.URL == "" {
		var set []string
		if r.Instance != "" {
			set = append(set, "--remote-instance")
		}
		if len(r.Platform) > 0 {
			set = append(set, "--remote-platform")
		}
		if len(set) > 0 {
			return nil, usage(fmt.Errorf("%s without --remote: name the service with --remote grpc://HOST:PORT, or drop %s to run locally",
				strings.Join(set, " and "), strings.Join(set, " and ")))
		}
		return nil, nil
	}
	if r.Jobs < 1 {
		return nil, usage(fmt.Errorf("--remote-jobs %d: must be at least 1", r.Jobs))
	}
	platform, err := remotePlatform(r.Platform)
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
	rc, err := remote.Dial(ctx, remote.Config{
		URL: r.URL, Instance: r.Instance, Platform: platform, Jobs: r.Jobs,
		HeadersEnv: r.HeadersEnv, HeadersFile: r.HeadersFile, CACert: r.CACert,
		CacheResults: r.Cache, Patience: patience,
		Progress: func(m string) { fmt.Fprintf(stderr, "volley: remote: %s\n", m) },
	})
	if err != nil {
		return nil, remoteFailure(fmt.Errorf("remote execution: %w", err))
	}
	return rc, nil
}

// remotePlatform reads the KEY=VALUE platform properties.
func remotePlatform(props []string) (map[string]string, error) {
	platform := map[string]string{}
	for _, kv := range props {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usage(fmt.Errorf("--remote-platform %q: want KEY=VALUE", kv))
		}
		platform[k] = v
	}
	return platform, nil
}

// remoteFailure classifies an error that stopped remote execution: a
// service unusable for longer than the patience did not let the run
// complete (Incomplete); anything else is a setting to fix (Usage).
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
func remoteExecutor(c *Config) string {
	if c.Remote.URL == "" {
		return ""
	}
	props := append([]string(nil), c.Remote.Platform...)
	sort.Strings(props)
	return fmt.Sprintf("remote %s instance=%q platform=%s", c.Remote.URL, c.Remote.Instance, strings.Join(props, ","))
}
