package config

// Options are run options. A nil pointer means "not set". The layers, lowest
// first: CLI defaults, [run], the selected [profile.NAME], CLI flags; each is
// applied with Merge. Paths (JUnit, JSON, HTML) loaded from a file are
// absolute, resolved against the file's directory.
type Options struct {
	Jobs         *int      // jobs: parallel processes, > 0
	Timeout      *Duration // timeout: per process
	Grace        *Duration // grace: between SIGTERM and SIGKILL
	FailFast     *bool     // fail_fast
	MaxFail      *int      // max_fail: stop after this many failures, >= 0 (0 = no limit)
	Verbose      *int      // verbose: level >= 0; true/false mean 1/0
	Filter       *string   // filter
	NoCapture    *bool     // no_capture
	NoCache      *bool     // no_cache
	Retries      *int      // retries, >= 0
	Protocol     *string   // protocol: as Suite.Protocol
	JUnit        *string   // junit: report path
	JSON         *string   // json: NDJSON event log path
	HTML         *string   // html: report path
	Format       *string   // format: terminal output style (checked by the CLI)
	Order        *string   // order: test order (checked by the CLI)
	Coverage     *bool     // coverage: collect coverage
	SlowTimeout  *Duration // slow_timeout: report a test as slow after this
	Leak         *string   // leak: what to do about leaked processes (checked by the CLI)
	MemoryBudget *string   // memory_budget: e.g. "8GiB"; an integer is taken as bytes
}

// Merge returns o with every field that is set in over replaced by over's.
func (o Options) Merge(over Options) Options {
	o.Jobs = pick(o.Jobs, over.Jobs)
	o.Timeout = pick(o.Timeout, over.Timeout)
	o.Grace = pick(o.Grace, over.Grace)
	o.FailFast = pick(o.FailFast, over.FailFast)
	o.MaxFail = pick(o.MaxFail, over.MaxFail)
	o.Verbose = pick(o.Verbose, over.Verbose)
	o.Filter = pick(o.Filter, over.Filter)
	o.NoCapture = pick(o.NoCapture, over.NoCapture)
	o.NoCache = pick(o.NoCache, over.NoCache)
	o.Retries = pick(o.Retries, over.Retries)
	o.Protocol = pick(o.Protocol, over.Protocol)
	o.JUnit = pick(o.JUnit, over.JUnit)
	o.JSON = pick(o.JSON, over.JSON)
	o.HTML = pick(o.HTML, over.HTML)
	o.Format = pick(o.Format, over.Format)
	o.Order = pick(o.Order, over.Order)
	o.Coverage = pick(o.Coverage, over.Coverage)
	o.SlowTimeout = pick(o.SlowTimeout, over.SlowTimeout)
	o.Leak = pick(o.Leak, over.Leak)
	o.MemoryBudget = pick(o.MemoryBudget, over.MemoryBudget)
	return o
}

// pick returns over when it is set, else base.
func pick[T any](base, over *T) *T {
	if over != nil {
		return over
	}
	return base
}
