package sim

import (
	"fmt"

	"github.com/syncsim/syncsim/model"
)

// Faults on etcd members. Their target is a member: by name or by role.
const (
	MemberCrash   Fault = "member-crash"
	MemberPause   Fault = "member-pause"
	MemberIsolate Fault = "member-isolate"
	Split         Fault = "split"
)

func one(int) int { return 1 }

var memberFaults = []Failpoint{
	&fault{name: MemberCrash, target: MemberTarget, weight: 1, down: one,
		doc:  "stop an etcd member, keeping its data",
		heal: "restart it with its data",
		inject: onMembers(func(m members, group []int) (func() error, error) {
			if err := m.stop(group[0]); err != nil {
				return nil, err
			}
			return func() error { return m.restart(group[0]) }, nil
		})},
	&fault{name: MemberPause, target: MemberTarget, weight: 1, down: one,
		doc:  "freeze an etcd member",
		heal: "resume it",
		inject: onMembers(func(m members, group []int) (func() error, error) {
			m.pause(group[0])
			return func() error { m.resume(group[0]); return nil }, nil
		})},
	&fault{name: MemberIsolate, target: MemberTarget, weight: 1, down: one,
		doc:    "cut an etcd member off from its peers",
		heal:   "reconnect it",
		inject: onMembers(partition)},
	&fault{name: Split, target: MemberTarget, weight: 1,
		down:   func(members int) int { return (members - 1) / 2 },
		doc:    "cut the target and the lowest-numbered other members, a minority, off from the majority",
		heal:   "reconnect them",
		inject: onMembers(partition)},
}

func partition(m members, group []int) (func() error, error) {
	if err := m.partition(group); err != nil {
		return nil, err
	}
	return func() error { return m.rejoin(group) }, nil
}

// onMembers applies a member fault to the resolved group (one member, or a
// split's minority), refusing one already down, and keeps the group down
// until the heal undoes it.
func onMembers(apply func(m members, group []int) (undo func() error, err error)) func(*executor, int, Step, Resolved, func()) (func(), error) {
	return func(x *executor, _ int, s Step, t Resolved, _ func()) (func(), error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		for _, i := range t.Members {
			if why, isDown := x.down[i]; isDown {
				return nil, fmt.Errorf("%s is already down (%s)", MemberName(i), why)
			}
		}
		undo, err := apply(x.members, t.Members)
		if err != nil {
			return nil, err
		}
		for _, i := range t.Members {
			x.down[i] = s.Fault
		}
		return func() {
			if err := undo(); err != nil {
				x.rec.record(model.Event{Kind: model.Skipped, Fault: string(s.Fault), Target: t.String(), Detail: "heal: " + err.Error()})
			}
			x.mu.Lock()
			for _, i := range t.Members {
				delete(x.down, i)
			}
			x.mu.Unlock()
		}, nil
	}
}
