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
	if int(kind) >= len(parsers) {
		return Ref{}, fmt.Errorf("unknown target kind %d", kind)
	}
	return parsers[kind](string(t))
}

// parsers read a target of each kind.
var parsers = [...]func(s string) (Ref, error){
	NoTarget: func(s string) (Ref, error) {
		if s == "" {
			return Ref{}, nil
		}
		return Ref{}, fmt.Errorf("this fault takes no target, got %q", s)
	},
	AgentTarget: func(s string) (Ref, error) {
		if s == LeaderAgent || s == AnyAgent {
			return Ref{Role: s}, nil
		}
		if sync, ok := strings.CutPrefix(s, OwnerOf+" "); ok {
			if n, ok := number(sync, "sync-%d", SyncName); ok && n > 0 {
				return Ref{Role: OwnerOf, N: n}, nil
			}
		} else if n, ok := number(s, "agent-%d", AgentName); ok && n > 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not an agent: write \"agent-N\", \"owner of sync-N\", %q or %q", s, LeaderAgent, AnyAgent)
	},
	MemberTarget: func(s string) (Ref, error) {
		if s == EtcdLeader || s == EtcdFollower || s == AnyMember {
			return Ref{Role: s}, nil
		}
		if n, ok := number(s, "m%d", MemberName); ok && n >= 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not an etcd member: write \"mN\" (from m0), %q, %q or %q", s, EtcdLeader, EtcdFollower, AnyMember)
	},
	SyncTarget: func(s string) (Ref, error) {
		if n, ok := number(s, "sync-%d", SyncName); ok && n > 0 {
			return Ref{N: n}, nil
		}
		return Ref{}, fmt.Errorf("target %q is not a sync: write \"sync-N\"", s)
	},
}

// number reads the number in s, written as format; ok only if build writes
// it back the same ("agent-01" is not agent-1).
func number(s, format string, build func(int) string) (int, bool) {
	var n int
	_, err := fmt.Sscanf(s, format, &n)
	return n, err == nil && build(n) == s
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
