package config

import (
	"fmt"
	"math"
	"time"
)

// Duration is a non-negative time span. In TOML it is a string in Go syntax
// ("20s", "1m30s") or a number of seconds (20, 0.5).
type Duration struct{ time.Duration }

// UnmarshalTOML implements toml.Unmarshaler, so Duration also works with
// plain toml.Decode.
func (d *Duration) UnmarshalTOML(v any) error {
	parsed, err := parseDuration(v)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// MarshalText writes the Go duration syntax, e.g. "1m30s".
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// parseDuration converts a decoded TOML value to a Duration.
func parseDuration(v any) (Duration, error) {
	var d time.Duration
	switch v := v.(type) {
	case string:
		var err error
		d, err = time.ParseDuration(v)
		if err != nil {
			return Duration{}, fmt.Errorf(`invalid duration %q (use e.g. "20s")`, v)
		}
	case int64:
		if v > math.MaxInt64/int64(time.Second) || v < math.MinInt64/int64(time.Second) {
			return Duration{}, fmt.Errorf("duration %d seconds is out of range", v)
		}
		d = time.Duration(v) * time.Second
	case float64:
		if math.IsNaN(v) || math.Abs(v) > float64(math.MaxInt64/int64(time.Second)) {
			return Duration{}, fmt.Errorf("invalid duration %v", v)
		}
		d = time.Duration(v * float64(time.Second))
	default:
		return Duration{}, fmt.Errorf(`invalid duration: want a string like "20s" or a number of seconds, got %s`, describe(v))
	}
	if d < 0 {
		return Duration{}, fmt.Errorf("negative duration %s", literal(v))
	}
	return Duration{d}, nil
}
