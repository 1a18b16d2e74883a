package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Target names what a step acts on, directly or by role:
//
//	agents:  "agent-N", "owner of sync-N", "leader" (the leader agent), "any agent"
//	members: "mN" (from m0), "etcd leader", "etcd follower", "any member"
//	syncs:   "sync-N"
//
// A role is resolved when the step runs, and the history records what it
// resolved to. Where a role leaves a choice ("any agent", "etcd follower"),
// the choice depends only on the scenario's seed and the step's position.
type Target string

// Roles a Target may name.
const (
	Literal      = ""
	OwnerOf      = "owner of"
	LeaderAgent  = "leader"
	AnyAgent     = "any agent"
	EtcdLeader   = "etcd leader"
	EtcdFollower = "etcd follower"
	AnyMember    = "any member"
)

// Ref is a parsed Target: a role, and the number it names (agent-N, mN,
// sync-N, or the sync of "owner of sync-N").
type Ref struct {
	Role string
	N    int
}

// ParseTarget checks that t names something of the given kind.
func ParseTarget(kind TargetKind, t Target) (Ref, error) {
	s := string(t)
	number := func(format string, build func(int) string) (int, bool) {
		var n int
		_, err := fmt.Sscanf(s, format, &n)
		return n, err == nil && build(n) == s
	}
	switch kind {
	case NoTarget:
		if s == "" {
			return Ref{}, nil
		}
		return Ref{}, fmt.Errorf("this fault takes no target, got %q", s)
	case AgentTarget:
		switch s {
		case LeaderAgent, AnyAgent:
			return Ref{Role: s}, nil
		}
		if rest, ok := strings.CutPrefix(s, OwnerOf+" "); ok {
			s = rest
			if n, ok := number("sync-%d", SyncName); ok && n > 0 {
				return Ref{Role: OwnerOf, N: n}, nil
			}
		} else if n, ok := number("agent-%d", AgentName); ok && n > 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not an agent: write \"agent-N\", \"owner of sync-N\", %q or %q", t, LeaderAgent, AnyAgent)
	case MemberTarget:
		switch s {
		case EtcdLeader, EtcdFollower, AnyMember:
			return Ref{Role: s}, nil
		}
		if n, ok := number("m%d", MemberName); ok && n >= 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not an etcd member: write \"mN\" (from m0), %q, %q or %q", t, EtcdLeader, EtcdFollower, AnyMember)
	case SyncTarget:
		if n, ok := number("sync-%d", SyncName); ok && n > 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not a sync: write \"sync-N\"", t)
	}
	return Ref{}, fmt.Errorf("unknown target kind %d", kind)
}

// MemberName names the i-th etcd member, counting from 0 as the framework does.
func MemberName(i int) string { return fmt.Sprintf("m%d", i) }

// Choose picks one of candidates using only the seed and the step's index,
// so the same scenario makes the same choices whatever happened before; ok
// is false when there are none.
func Choose[E cmp.Ordered](seed int64, step int, candidates []E) (chosen E, ok bool) {
	if len(candidates) == 0 {
		return chosen, false
	}
	sorted := slices.Clone(candidates)
	slices.Sort(sorted)
	r := rand.New(rand.NewPCG(uint64(seed), uint64(step)))
	return sorted[r.IntN(len(sorted))], true
}
