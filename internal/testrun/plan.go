package testrun

import (
	"context"
	"fmt"
	"io"

	"github.com/volley-test/volley/internal/discover"
	"github.com/volley-test/volley/internal/plan"
	"github.com/volley-test/volley/internal/proc"
	"github.com/volley-test/volley/internal/protocol"
	"github.com/volley-test/volley/internal/shard"
)

// Plan is what a run of c would do with args, without running anything
// (volley list): with c.FailedOnly, the history chooses the tests, and the
// result cache is left out. Problems with the history are said on stderr;
// planning's own notes are not.
func Plan(c Config, args []string, stderr io.Writer) (*plan.Plan, error) {
	defer proc.CloseIdle() // the supervisors of the listings
	var mem *memory
	if c.FailedOnly {
		c.NoCache = true
		mem = openMemory(&c, stderr)
	}
	pl, _, err := makePlan(&c, args, mem, nil, io.Discard)
	return pl, err
}

// makePlan discovers the suites and plans the run. listEnv is added to the
// environment of the processes that list tests (see plan.Options.ListEnv).
func makePlan(c *Config, args []string, mem *memory, listEnv []string, stderr io.Writer) (*plan.Plan, []*protocol.Suite, error) {
	found, err := discover.Discover(discover.Request{
		Args: args, Config: c.File, Protocol: c.Protocol, Cwd: c.Cwd, RunIgnored: c.RunIgnored,
		Filter: c.Filter, Suites: c.Suites,
	})
	if err != nil {
		return nil, nil, usage(err)
	}
	for _, w := range found.Warnings {
		fmt.Fprintf(stderr, "volley: warning: %s\n", w)
	}
	if mem != nil {
		mem.knownCounts(found.Suites, c.Jobs)
	}
	nameFilter := c.Filter
	if found.Checkout != nil {
		nameFilter = "" // applied to test-file paths by discover
	}
	filter, err := plan.NewFilter(nameFilter, found.Patterns)
	if err != nil {
		return nil, nil, usage(err)
	}
	order, seed, err := ParseOrder(c.Order)
	if err != nil {
		return nil, nil, usage(err)
	}
	if order == plan.OrderRandom {
		fmt.Fprintf(stderr, "volley: random order, seed %d (rerun with --order random:%d)\n", seed, seed)
	}
	po := plan.Options{Filter: filter, Jobs: c.Jobs, Order: order, Seed: seed, ListEnv: listEnv, Remote: remoteExecutor(c) != ""}
	if mem != nil {
		po.Est = estimator{mem}
		po.Cache = mem
		if c.FailedOnly {
			po.Select = mem.selectFailed
		}
	} else if c.FailedOnly {
		return nil, nil, usage(fmt.Errorf("--failed needs the history of an earlier run, and there is none"))
	}
	// The shard to run: --partition, else the CI system's parallelism
	// variables.
	part, err := shard.FromEnv(c.Partition, stderr)
	if err != nil {
		return nil, nil, usage(err)
	}
	po.Partition = part
	pl, err := plan.Make(context.Background(), found.Suites, po)
	if err != nil {
		return nil, nil, usage(err)
	}
	if len(pl.Units) == 0 && len(pl.Preset) == 0 && po.Partition == nil {
		return nil, nil, usage(fmt.Errorf("no test matches the filter (see volley list)"))
	}
	return pl, found.Suites, nil
}

// harnessTimeouts gives every suite without a timeout of its own its
// harness's default (go test's 10 minutes, TML's 20 seconds per file, ...),
// unless the run has a timeout of its own (Config.TimeoutSet).
// Without Config.SlowSet, the slow warning comes at the earliest of the
// run's harnesses' defaults (60 s, or half a shorter limit).
func harnessTimeouts(c *Config, suites []*protocol.Suite) {
	for _, s := range suites {
		if s.Timeout == 0 && !c.TimeoutSet {
			s.Timeout = protocol.DefaultTimeout(s.Protocol)
		}
		if c.SlowSet {
			continue
		}
		limit := s.Timeout
		if limit == 0 {
			limit = c.Timeout
		}
		slow := min(protocol.DefaultSlow(s.Protocol), limit/2)
		if c.SlowTimeout == 0 || slow < c.SlowTimeout {
			c.SlowTimeout = slow
		}
	}
}
