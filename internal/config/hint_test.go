package config

import "testing"

func TestNearest(t *testing.T) {
	keys := []string{"jobs", "timeout", "fail_fast", "max_fail", "no_capture", "slow_timeout", "run"}
	tests := []struct{ in, want string }{
		{"jbos", "jobs"}, // transposition
		{"job", "jobs"},  // deletion
		{"Jobs", "jobs"}, // case
		{"fail-fast", "fail_fast"},
		{"failfast", "fail_fast"},
		{"timout", "timeout"},
		{"slowtimeout", "slow_timeout"},
		{"nocapture", "no_capture"},
		{"maxfail", "max_fail"},
		{"runn", "run"},
		{"xyz", ""},
		{"jo", ""}, // too far for a short key
		{"retries", ""},
	}
	for _, tt := range tests {
		if got := Nearest(tt.in, keys); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "abc", 0}, {"abc", "acb", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, {"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
