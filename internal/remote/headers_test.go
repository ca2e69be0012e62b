package remote

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/volley-test/volley/internal/remote/reapitest"
)

const secret = "s3cret-t0ken"

func TestHeadersReachServer(t *testing.T) {
	t.Setenv("VOLLEY_TEST_HEADERS", "Authorization: Bearer "+secret+"\n# comment\n\nX-Team: compilers\n")
	file := filepath.Join(t.TempDir(), "headers")
	mustWrite(t, file, "x-api-key: "+secret+"-file\n", 0o600)
	s := startServer(t, reapitest.Options{Platform: map[string]string{"pool": "a"}})
	c := dial(t, Config{URL: s.URL(), HeadersEnv: "VOLLEY_TEST_HEADERS", HeadersFile: file, Platform: map[string]string{"pool": "b"}})
	if got := s.Header("authorization"); len(got) != 1 || got[0] != "Bearer "+secret {
		t.Errorf("authorization = %q", got)
	}
	if got := s.Header("x-team"); len(got) != 1 || got[0] != "compilers" {
		t.Errorf("x-team = %q", got)
	}
	if got := s.Header("x-api-key"); len(got) != 1 || got[0] != secret+"-file" {
		t.Errorf("x-api-key = %q", got)
	}
	cwd, _ := project(t, toolScript)
	_, err := c.Run(t.Context(), toolSpec(cwd))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("err = %v: want an error without the secret", err)
	}
}

func TestHeaderErrorsHideValues(t *testing.T) {
	for _, tc := range []struct{ name, env, want string }{
		{"no colon", "Authorization Bearer " + secret, "line 1"},
		{"space in key", "ok: 1\nBad Key " + secret + ": v", "line 2"},
		{"unset", "", "is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("VOLLEY_TEST_HEADERS", tc.env)
			}
			_, err := Dial(t.Context(), Config{URL: "grpc://127.0.0.1:1", HeadersEnv: "VOLLEY_TEST_HEADERS"})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
				t.Errorf("err = %v, want %q and no secret", err, tc.want)
			}
		})
	}
}
