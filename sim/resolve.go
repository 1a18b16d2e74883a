package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Resolved is what a step's target came to when the step ran.
type Resolved struct {
	Agent   string // an agent id, for an agent fault
	Members []int  // member indices, for a member fault: one, or a split's minority
	Sync    string // a sync name, for a sync fault
}

// String is the target as the history records it: "agent-2", "m0+m1",
// "sync-3", or "" for none.
func (r Resolved) String() string {
	switch {
	case r.Agent != "":
		return r.Agent
	case len(r.Members) > 0:
		return names(r.Members)
	}
	return r.Sync
}

// vacancy is a role nobody fills, or an agent gone by the time a fault
// reached it.
type vacancy string

func (v vacancy) Error() string { return string(v) }

func isVacant(err error) bool {
	var v vacancy
	return errors.As(err, &v)
}

// isRole reports whether t names its target by role rather than by name.
func isRole(t Target) bool {
	switch t {
	case LeaderAgent, AnyAgent, EtcdLeader, EtcdFollower, AnyMember:
		return true
	}
	return strings.HasPrefix(string(t), OwnerOf+" ")
}

// resolve turns the step's target, for fault fp, into what it names now. A
// role waits to be filled, up to roleWait, and is a vacancy if it is not.
func (x *executor) resolve(ctx context.Context, step int, fp Failpoint, s Step) (Resolved, error) {
	ref, err := ParseTarget(fp.Target(), s.Target)
	if err != nil {
		return Resolved{}, err
	}
	var r Resolved
	var why error
	found := waitFor(ctx, x.roleWait, func() bool {
		r, why = x.lookup(step, fp, ref)
		return why == nil
	})
	if !found {
		return Resolved{}, why
	}
	return r, nil
}

// lookup resolves ref once against the current state.
func (x *executor) lookup(step int, fp Failpoint, ref Ref) (Resolved, error) {
	switch fp.Target() {
	case SyncTarget:
		return Resolved{Sync: SyncName(ref.N)}, nil
	case AgentTarget:
		id, err := x.lookupAgent(step, ref)
		return Resolved{Agent: id}, err
	case MemberTarget:
		m, err := x.lookupMember(step, ref)
		if err != nil {
			return Resolved{}, err
		}
		return Resolved{Members: spread(m, x.members.size(), fp.MembersDown(x.members.size()))}, nil
	}
	return Resolved{}, nil
}

// lookupAgent resolves an agent target once; a role is held by a running
// agent.
func (x *executor) lookupAgent(step int, ref Ref) (string, error) {
	switch ref.Role {
	case OwnerOf:
		// The recorder still names a crashed owner until another agent
		// takes over.
		if id, ok := x.rec.owner(SyncName(ref.N), x.running); ok {
			return id, nil
		}
		return "", vacancy(fmt.Sprintf("no running agent works on %s", SyncName(ref.N)))
	case LeaderAgent:
		if id, ok := x.rec.currentLeader(); ok && x.running(id) {
			return id, nil
		}
		return "", vacancy("no running agent leads")
	case AnyAgent:
		if id, ok := Choose(x.seed, step, x.agents.running()); ok {
			return id, nil
		}
		return "", vacancy("no agent is running")
	}
	return AgentName(ref.N), nil
}

// lookupMember resolves a member target once; only members in the quorum
// count for roles.
func (x *executor) lookupMember(step int, ref Ref) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	size := x.members.size()
	if ref.Role == Literal {
		if ref.N >= size {
			return 0, fmt.Errorf("the cluster has members m0 to m%d", size-1)
		}
		return ref.N, nil
	}
	var up []int
	for i := range size {
		if _, isDown := x.down[i]; !isDown {
			up = append(up, i)
		}
	}
	if ref.Role == AnyMember {
		return x.chooseMember(step, up, "no member is up")
	}
	leader, ok := x.members.leader(x.downSet())
	switch {
	case !ok:
		return 0, vacancy("the cluster has no leader")
	case ref.Role == EtcdLeader:
		return leader, nil
	}
	return x.chooseMember(step, slices.DeleteFunc(up, func(m int) bool { return m == leader }), "no follower is up")
}

func (x *executor) chooseMember(step int, candidates []int, none string) (int, error) {
	if m, ok := Choose(x.seed, step, candidates); ok {
		return m, nil
	}
	return 0, vacancy(none)
}

func (x *executor) running(id string) bool {
	_, ok := x.agents.process(id)
	return ok
}

// downSet is the members out of the quorum; x.mu is held.
func (x *executor) downSet() map[int]bool {
	set := map[int]bool{}
	for i := range x.down {
		set[i] = true
	}
	return set
}

// spread is the group a member fault taking n members down acts on: m and
// the lowest-numbered others, n in all (at least m).
func spread(m, size, n int) []int {
	group := []int{m}
	for i := 0; i < size && len(group) < n; i++ {
		if i != m {
			group = append(group, i)
		}
	}
	return group
}

// names joins member names for a recorded target.
func names(group []int) string {
	var ns []string
	for _, i := range group {
		ns = append(ns, MemberName(i))
	}
	return strings.Join(ns, "+")
}
