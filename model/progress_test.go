package model

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// settledFleet: two agents, two syncs, one each, committing until 2 s.
func settledFleet() []Event {
	evs := []Event{
		{Time: 1, Kind: SyncAdded, Sync: "s1"}, {Time: 1, Kind: SyncAdded, Sync: "s2"},
		{Time: 2, Kind: AgentStart, Agent: "a1"}, {Time: 2, Kind: AgentStart, Agent: "a2"},
		{Time: 10 * ms, Kind: WorkStart, Agent: "a1", Sync: "s1", Worker: 1, Token: 5},
		{Time: 10 * ms, Kind: WorkStart, Agent: "a2", Sync: "s2", Worker: 2, Token: 6},
	}
	for t := int64(100); t <= 2000; t += 100 {
		evs = append(evs, commit("a1", "s1", 1, t-1, t, "", OK), commit("a2", "s2", 2, t-1, t, "", OK))
	}
	return evs
}

func TestSettled(t *testing.T) {
	tests := []struct {
		name  string
		extra []Event
		want  string // "" when settled
	}{
		{"one committing owner each", nil, ""},
		{"an unowned sync", []Event{{Time: 1500 * ms, Kind: SyncAdded, Sync: "s3"}}, "nobody works on s3"},
		{"two workers", []Event{{Time: 1500 * ms, Kind: WorkStart, Agent: "a2", Sync: "s1", Worker: 3}}, "s1 has 2 workers (a1, a2)"},
		{"an owner whose process ended", []Event{{Time: 1500 * ms, Kind: AgentCrash, Agent: "a2"}}, "s2 is worked on by a2, whose process has ended"},
		{"an owner that stopped committing", []Event{{Time: 1000 * ms, Kind: WorkExit, Agent: "a2", Sync: "s2", Worker: 2}, {Time: 1000 * ms, Kind: WorkStart, Agent: "a2", Sync: "s2", Worker: 4}}, "a2's worker on s2 has committed nothing in the last 1s"},
		{"unbalanced", []Event{{Time: 1500 * ms, Kind: AgentStart, Agent: "a3"}, {Time: 1500 * ms, Kind: SyncAdded, Sync: "s3"},
			{Time: 1500 * ms, Kind: WorkStart, Agent: "a1", Sync: "s3", Worker: 5}, commit("a1", "s3", 5, 1900, 1950, "", OK)}, "loads differ by 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := history(settledFleet(), tt.extra)
			err := Settled(h, 2000*ms, Options{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("not settled: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			h.Events = append(h.Events, Event{Time: 2000 * ms, Kind: QuietEnd})
			if r := CheckProgress(h, Options{}); (r.Status == Pass) != (tt.want == "") {
				t.Fatalf("P3 %s: %s", r.Status, r.Summary)
			}
		})
	}
	if r := CheckProgress(history(settledFleet()), Options{}); r.Status != Undecided {
		t.Fatalf("without quiet-end P3 must be undecided, got %s", r.Status)
	}
}

func TestStopMeansStop(t *testing.T) {
	tests := []struct {
		name  string
		extra []Event
		want  string
	}{
		{"a removed sync stops at once", []Event{{Time: 500 * ms, Kind: SyncRemoved, Sync: "s1"}, {Time: 510 * ms, Kind: WorkExit, Agent: "a1", Sync: "s1", Worker: 1}}, ""},
		{"a removed sync keeps working", []Event{{Time: 500 * ms, Kind: SyncRemoved, Sync: "s1"}}, "a1 kept working on s1, removed at 0.500 s, past 1.500 s"},
		{"a re-added sync may go on", []Event{{Time: 500 * ms, Kind: SyncRemoved, Sync: "s1"}, {Time: 600 * ms, Kind: SyncAdded, Sync: "s1"}}, ""},
		{"a commit after the agent stopped", []Event{{Time: 1950 * ms, Kind: AgentStop, Agent: "a2"}}, "a2 committed s2 at 2.000 s, after its process ended at 1.950 s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// worker 1 makes no commit after a work-exit the case adds
			fleet := settledFleet()
			for _, e := range tt.extra {
				if e.Kind == WorkExit {
					fleet = slices.DeleteFunc(fleet, func(c Event) bool { return c.Kind == Commit && c.Worker == e.Worker && c.Time > e.Time })
				}
			}
			r := CheckStop(history(fleet, tt.extra), time.Second)
			switch {
			case tt.want == "" && r.Status != Pass:
				t.Fatalf("%s: %s", r.Status, r.Summary)
			case tt.want != "" && (r.Status != Fail || !strings.Contains(r.Summary, tt.want)):
				t.Fatalf("%s: %q does not say %q", r.Status, r.Summary, tt.want)
			}
		})
	}
}
