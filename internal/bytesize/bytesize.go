// Package bytesize reads byte counts people write: 512, 64K, 10M, 8G, 1GiB.
package bytesize

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Parse reads a byte count: digits with an optional K, M, G or T
// suffix (powers of 1024), optionally followed by B or iB.
func Parse(s string) (int64, error) {
	u := strings.ToUpper(s)
	if strings.HasSuffix(u, "IB") && len(u) > 2 && strings.ContainsRune("KMGT", rune(u[len(u)-3])) {
		u = u[:len(u)-2]
	} else {
		u = strings.TrimSuffix(u, "B")
	}
	mult := int64(1)
	if u != "" {
		switch u[len(u)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			u = u[:len(u)-1]
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil {
		return 0, errors.New("not a size")
	}
	if n < 0 {
		return 0, errors.New("negative size")
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("size too large")
	}
	return n * mult, nil
}
