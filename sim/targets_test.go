package sim

import (
	"slices"
	"testing"
)

// TestChoicesAreDeterministic: a choice depends only on the seed, the step
// and the set of candidates, never on their order or on earlier choices.
func TestChoicesAreDeterministic(t *testing.T) {
	agents := []string{"agent-3", "agent-1", "agent-4", "agent-2"}
	reversed := slices.Clone(agents)
	slices.Reverse(reversed)
	seen := map[string]bool{}
	for seed := int64(1); seed <= 50; seed++ {
		for step := range 5 {
			first, _ := Choose(seed, step, agents)
			for range 3 {
				Choose(seed+1, step+1, agents) // an unrelated choice in between changes nothing
				if again, _ := Choose(seed, step, reversed); again != first {
					t.Fatalf("seed %d step %d chose %s, then %s", seed, step, first, again)
				}
			}
			seen[first] = true
		}
	}
	if len(seen) != len(agents) {
		t.Fatalf("250 choices over 4 candidates only ever picked %v", seen)
	}
	if _, ok := Choose[string](1, 0, nil); ok {
		t.Fatal("a choice among no candidates must be empty")
	}
}

func TestParseTarget(t *testing.T) {
	good := []struct {
		kind TargetKind
		t    Target
		want Ref
	}{
		{AgentTarget, "agent-12", Ref{N: 12}},
		{AgentTarget, "owner of sync-3", Ref{Role: OwnerOf, N: 3}},
		{AgentTarget, "leader", Ref{Role: LeaderAgent}},
		{AgentTarget, "any agent", Ref{Role: AnyAgent}},
		{MemberTarget, "m0", Ref{N: 0}},
		{MemberTarget, "etcd follower", Ref{Role: EtcdFollower}},
		{SyncTarget, "sync-9", Ref{N: 9}},
		{NoTarget, "", Ref{}},
	}
	for _, g := range good {
		if got, err := ParseTarget(g.kind, g.t); err != nil || got != g.want {
			t.Errorf("ParseTarget(%v, %q) = %+v, %v; want %+v", g.kind, g.t, got, err, g.want)
		}
	}
	for _, b := range []struct {
		kind TargetKind
		t    Target
	}{
		{AgentTarget, "agent-0"}, {AgentTarget, "agent-01"}, {AgentTarget, "m1"}, {AgentTarget, "owner of agent-1"},
		{MemberTarget, "agent-1"}, {MemberTarget, "m-1"}, {SyncTarget, "sync-x"}, {NoTarget, "agent-1"},
	} {
		if _, err := ParseTarget(b.kind, b.t); err == nil {
			t.Errorf("ParseTarget(%v, %q) accepted", b.kind, b.t)
		}
	}
}
