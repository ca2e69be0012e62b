package config

import (
	"fmt"
	"sort"
	"strings"
)

// unknownKeyMsg explains an unknown key: the nearest known key if it is a
// likely typo, else the table it belongs in (elsewhere maps key -> "[run]"),
// else a likely typo of a key that belongs elsewhere, else the list of
// known keys.
func unknownKeyMsg(key string, known []string, elsewhere map[string]string) string {
	if best := Nearest(key, known); best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q?)", key, best)
	}
	if where, ok := elsewhere[key]; ok {
		return fmt.Sprintf("unknown key %q here (it belongs in %s)", key, where)
	}
	if best := Nearest(key, sortedKeys(elsewhere)); best != "" {
		return fmt.Sprintf("unknown key %q (did you mean %q? it belongs in %s)", key, best, elsewhere[best])
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return fmt.Sprintf("unknown key %q (known: %s)", key, strings.Join(sorted, ", "))
}

// Nearest returns the candidate closest to s when it is close enough to be a
// typo (case and '-' vs '_' ignored), or "".
func Nearest(s string, candidates []string) string {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "_") }
	ns := norm(s)
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(ns, norm(c))
		limit := 2
		if len(c) <= 4 {
			limit = 1
		}
		if d > limit {
			continue
		}
		if bestDist < 0 || d < bestDist || d == bestDist && c < best {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions cost 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
