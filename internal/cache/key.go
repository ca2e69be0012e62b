package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/volley-test/volley/internal/protocol"
)

// Key identifies what a suite's results depend on. Sum is the digest of all
// Parts; Parts keeps one digest per component so that a miss can be
// explained (see Explain).
type Key struct {
	Sum   string            `json:"sum"`
	Parts map[string]string `json:"parts,omitempty"`
}

// Part names. Env and input parts are the prefix followed by the variable
// name or the input's absolute path.
const (
	partExe      = "exe"
	partProtocol = "protocol"
	partArgs     = "args"
	partInterp   = "interpreter"
	partCwd      = "cwd"
	partOptions  = "options"
	partExecutor = "executor"
	prefixEnv    = "env:"
	prefixInput  = "input:"
	keyFormat    = "volley cache key v1"
)

// missing is the digest of a declared input that does not exist, so that
// its appearance later changes the key.
var missing = digest("missing")

// SuiteKey computes the cache key of s. Only the environment volley adds
// (s.Env) is hashed, not the environment volley itself inherited: variables
// like PWD or SHLVL change all the time and would defeat the cache. The
// executable is hashed by content; the interpreter (s.Interpreter) by its
// argv only. s.Timeout and s.Granularity are not part of the key; RunIgnored
// is. A missing executable is an error; a missing input is not (it hashes
// as "missing").
func (h *Hasher) SuiteKey(s *protocol.Suite) (Key, error) {
	exe, err := h.File(s.Path)
	if err != nil {
		return Key{}, fmt.Errorf("cache key of %s: %w", s.Name, err)
	}
	cwd := s.Cwd
	if cwd == "" {
		if cwd, err = os.Getwd(); err != nil {
			return Key{}, fmt.Errorf("cache key of %s: %w", s.Name, err)
		}
	}
	parts := map[string]string{
		partExe:      exe,
		partProtocol: digest(s.Protocol),
		partArgs:     digest(s.Args...),
		partInterp:   digest(s.Interpreter...),
		partCwd:      digest(cwd),
		partOptions:  digest(fmt.Sprintf("run-ignored=%t", s.RunIgnored)),
	}
	for k, v := range envMap(s.Env) {
		parts[prefixEnv+k] = digest(v)
	}
	for _, in := range s.Inputs {
		d, err := h.Input(in)
		if err != nil {
			return Key{}, fmt.Errorf("cache key of %s: %w", s.Name, err)
		}
		parts[prefixInput+in] = d
	}
	return Key{Sum: sumParts(parts), Parts: parts}, nil
}

// envMap turns KEY=VALUE pairs into a map; the last value of a repeated
// variable wins, as it does for the child.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// digest hashes a list of strings unambiguously (each length-prefixed).
func digest(ss ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, s := range ss {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// WithExecutor returns k extended by where the tests run ("" = here,
// locally, which leaves k unchanged): results from one executor (a remote
// service, instance and platform) are not results for another.
func (k Key) WithExecutor(executor string) Key {
	if executor == "" {
		return k
	}
	parts := make(map[string]string, len(k.Parts)+1)
	for n, d := range k.Parts {
		parts[n] = d
	}
	parts[partExecutor] = digest(executor)
	return Key{Sum: sumParts(parts), Parts: parts}
}

func sumParts(parts map[string]string) string {
	names := sortedParts(parts, nil)
	ss := make([]string, 0, 1+2*len(names))
	ss = append(ss, keyFormat)
	for _, n := range names {
		ss = append(ss, n, parts[n])
	}
	return digest(ss...)
}

// sortedParts lists the part names of a and b in explanation order: the
// executable first, then the fixed parts, then env and inputs by name.
func sortedParts(a, b map[string]string) []string {
	seen := map[string]bool{}
	var names []string
	for _, m := range []map[string]string{a, b} {
		for n := range m {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	rank := func(n string) int {
		switch {
		case n == partExe:
			return 0
		case strings.HasPrefix(n, prefixEnv):
			return 2
		case strings.HasPrefix(n, prefixInput):
			return 3
		}
		return 1
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// Explain says in words which parts of a key changed from old to new:
// "executable content changed", "env FOO changed", "input /p/x.txt
// changed", "args changed", ... It returns nil when the keys are equal.
func Explain(old, new Key) []string {
	if old.Sum == new.Sum {
		return nil
	}
	var why []string
	for _, n := range sortedParts(old.Parts, new.Parts) {
		o, inOld := old.Parts[n]
		v, inNew := new.Parts[n]
		if inOld && inNew && o == v {
			continue
		}
		switch {
		case strings.HasPrefix(n, prefixEnv):
			name := strings.TrimPrefix(n, prefixEnv)
			switch {
			case !inOld:
				why = append(why, "env "+name+" set")
			case !inNew:
				why = append(why, "env "+name+" unset")
			default:
				why = append(why, "env "+name+" changed")
			}
		case strings.HasPrefix(n, prefixInput):
			name := strings.TrimPrefix(n, prefixInput)
			switch {
			case !inOld:
				why = append(why, "input "+name+" declared")
			case !inNew:
				why = append(why, "input "+name+" no longer declared")
			case v == missing:
				why = append(why, "input "+name+" is missing")
			case o == missing:
				why = append(why, "input "+name+" appeared")
			default:
				why = append(why, "input "+name+" changed")
			}
		case n == partExe:
			why = append(why, "executable content changed")
		case n == partCwd:
			why = append(why, "working directory changed")
		default:
			why = append(why, n+" changed")
		}
	}
	if len(why) == 0 {
		why = append(why, "cache key format changed")
	}
	return why
}
