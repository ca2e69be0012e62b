package report

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// HTMLOptions configure the HTML report.
type HTMLOptions struct {
	Title string // the page's title; "" = "volley report"
	// Coverage, when not nil and Total > 0, adds a coverage summary. It is
	// read at Close, so the caller may fill it in after the run.
	Coverage *CoverageSummary
	Slowest  int // rows in the slowest-tests table; 0 = 10
}

// CoverageSummary is a run's merged coverage, in whatever unit the suites
// measure (functions, lines, blocks).
type CoverageSummary struct {
	Percent float64
	Covered int
	Total   int
}

// htmlReport remembers the run and writes the page at Close.
type htmlReport struct {
	w      io.Writer
	o      HTMLOptions
	h      history
	procs  []*event.Proc        // in start order; replaced by their ProcEnd version
	byID   map[int]int          // Proc.ID -> index in procs
	counts map[int]*procResults // Proc.ID -> what its tests did
	warns  []string
	stats  event.Stats
	end    time.Time // the time of RunEnd, or of the latest event
	ended  bool      // RunEnd was seen
	closed bool
}

// procResults counts the outcomes of one process's tests.
type procResults struct {
	n     int
	by    [event.Error + 1]int // by Status
	worst event.Status         // by rank
}

// NewHTML returns a reporter that writes the run to w as one self-contained
// HTML page when it is closed: summary, timeline of processes per parallel
// slot, failures with their output, slowest tests and a sortable table of
// every test. The page fetches nothing. Close does not close w.
func NewHTML(w io.Writer, o HTMLOptions) Reporter {
	if o.Title == "" {
		o.Title = "volley report"
	}
	if o.Slowest <= 0 {
		o.Slowest = 10
	}
	return &htmlReport{w: w, o: o, h: history{keepOut: failed},
		byID: map[int]int{}, counts: map[int]*procResults{}}
}

func (h *htmlReport) Event(e *event.Event) {
	h.stats = e.Stats
	if !h.ended {
		h.end = e.Time
	}
	switch e.Kind {
	case event.ProcStart, event.ProcEnd:
		if p := e.Proc; p != nil {
			c := *p
			if i, ok := h.byID[p.ID]; ok {
				h.procs[i] = &c
			} else {
				h.byID[p.ID] = len(h.procs)
				h.procs = append(h.procs, &c)
			}
		}
	case event.TestEnd:
		if r := e.Result; r != nil {
			h.h.add(r)
			if r.Proc != 0 {
				pr := h.counts[r.Proc]
				if pr == nil {
					pr = &procResults{}
					h.counts[r.Proc] = pr
				}
				pr.n++
				if r.Status <= event.Error {
					pr.by[r.Status]++
				}
				if statusRank(r.Status) > statusRank(pr.worst) {
					pr.worst = r.Status
				}
			}
		}
	case event.Warn:
		w := e.Message
		if e.Suite != "" {
			w = e.Suite + ": " + w
		}
		h.warns = append(h.warns, w)
	case event.RunEnd:
		h.ended = true
	}
}

func (h *htmlReport) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	bw := bufio.NewWriter(h.w)
	if err := pageTemplate.Execute(bw, h.page()); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// statusRank orders outcomes by how much they matter in a process's color:
// one crash among passes colors the process as crashed.
func statusRank(s event.Status) int {
	switch s {
	case event.Skip:
		return 1
	case event.Pass:
		return 2
	case event.Fail:
		return 3
	case event.Error:
		return 4
	case event.Crash:
		return 5
	case event.Timeout:
		return 6
	}
	return 0
}

// statusClass is the CSS class of an outcome.
func statusClass(s event.Status) string {
	switch s {
	case event.Pass:
		return "pass"
	case event.Skip:
		return "skip"
	case event.Fail:
		return "fail"
	case event.Crash:
		return "crash"
	case event.Timeout:
		return "timeout"
	}
	return "error"
}

// procStatus is the outcome that colors a process: the worst of its tests',
// or what its exit says when it reported none.
func (h *htmlReport) procStatus(p *event.Proc) event.Status {
	s := event.Status(0)
	if pr := h.counts[p.ID]; pr != nil {
		s = pr.worst
	}
	exit := event.Status(0)
	switch {
	case p.TimedOut:
		exit = event.Timeout
	case p.Err != "":
		exit = event.Error
	case p.Signal != "" && s == 0:
		exit = event.Crash
	case p.End.IsZero():
	case s == 0 && p.ExitCode == 0, s == 0 && endProbe(p):
		exit = event.Pass
	case s == 0:
		exit = event.Fail
	}
	if statusRank(exit) > statusRank(s) {
		s = exit
	}
	return s
}
