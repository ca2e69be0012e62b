package plan

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/volley-test/volley/internal/event"
)

// Partition selects one shard of a run: shard K (1-based) of N.
type Partition struct {
	Strategy string // "hash", "slice" or "time"
	K, N     int
}

// ParsePartition reads "hash:K/N", "slice:K/N" or "time:K/N".
func ParsePartition(s string) (*Partition, error) {
	strategy, kn, ok := strings.Cut(s, ":")
	if !ok {
		return nil, fmt.Errorf("--partition %s: want STRATEGY:K/N, e.g. hash:1/4", s)
	}
	switch strategy {
	case "hash", "slice", "time":
	default:
		return nil, fmt.Errorf("--partition %s: strategy must be hash, slice or time", s)
	}
	ks, ns, ok := strings.Cut(kn, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 1 || k > n {
		return nil, fmt.Errorf("--partition %s: want K/N with 1 <= K <= N", s)
	}
	return &Partition{Strategy: strategy, K: k, N: n}, nil
}

func (p *Partition) String() string { return fmt.Sprintf("%s:%d/%d", p.Strategy, p.K, p.N) }

// item is the unit of sharding: a listed test, or a whole suite whose
// tests cannot be listed.
type item struct {
	suite, test string
	est         time.Duration
}

func (it item) id() string { return event.ID(it.suite, it.test) }

// shardOf assigns every item (in plan order) a shard, 0-based.
func (p *Partition) shardOf(items []item) []int {
	out := make([]int, len(items))
	switch p.Strategy {
	case "hash":
		for i, it := range items {
			h := fnv.New64a()
			h.Write([]byte(it.id()))
			out[i] = int(h.Sum64() % uint64(p.N))
		}
	case "slice":
		for i := range items {
			out[i] = i % p.N
		}
	case "time":
		// Longest first into the least-loaded shard (LPT), deterministic:
		// ties broken by id, then by shard number.
		idx := make([]int, len(items))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			ia, ib := items[idx[a]], items[idx[b]]
			if ia.est != ib.est {
				return ia.est > ib.est
			}
			return ia.id() < ib.id()
		})
		load := make([]time.Duration, p.N)
		for _, i := range idx {
			best := 0
			for s := 1; s < p.N; s++ {
				if load[s] < load[best] {
					best = s
				}
			}
			out[i] = best
			load[best] += items[i].est
		}
	}
	return out
}
