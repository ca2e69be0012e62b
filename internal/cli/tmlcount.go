package cli

import (
	"strconv"

	"github.com/volley-test/volley/internal/protocol"
)

// knownCounts gives each tml suite whose test count is not otherwise known
// (no test names) the count its history shows: one more than the highest
// index a past run reported. With a count, the rest of a suite after a
// failure runs all at once instead of being probed for its end.
func (m *memory) knownCounts(suites []*protocol.Suite) {
	for _, s := range suites {
		if s.Protocol != "tml" || s.KnownCount > 0 || s.TestNames != nil {
			continue
		}
		n := 0
		for _, t := range m.store.Tests(s.Name) {
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && strconv.Itoa(i) == t {
				n = max(n, i+1)
			}
		}
		s.KnownCount = n
	}
}
