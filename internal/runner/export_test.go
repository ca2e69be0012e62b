package runner

import "time"

// SetClock makes d read the time from now, which a test moves by hand.
// Call it before Run.
func (d *Dispatcher) SetClock(now func() time.Time) { d.now = now }
