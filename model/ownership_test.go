package model

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// tenure is the events of one worker: claim sent, work start, work exit,
// release acknowledged (a zero time leaves the event out).
func tenure(agent, sync string, worker int, claim, start, exit, released int64) []Event {
	evs := []Event{
		{Time: claim * ms, Kind: ClaimStart, Agent: agent, Sync: sync},
		{Time: start * ms, Kind: WorkStart, Agent: agent, Sync: sync, Worker: worker},
	}
	if exit > 0 {
		evs = append(evs, Event{Time: exit * ms, Kind: WorkExit, Agent: agent, Sync: sync, Worker: worker})
	}
	if released > 0 {
		evs = append(evs, Event{Time: released * ms, Kind: ReleaseDone, Agent: agent, Sync: sync, Outcome: OK})
	}
	return evs
}

func history(parts ...[]Event) History {
	h := History{Version: HistoryVersion}
	for _, p := range parts {
		h.Events = append(h.Events, p...)
	}
	sortEvents(h.Events)
	return h
}

func TestExclusiveWork(t *testing.T) {
	tests := []struct {
		name string
		h    History
		want Status
	}{
		{"clean handover", history(
			tenure("agent-1", "s", 1, 10, 20, 100, 110),
			tenure("agent-2", "s", 2, 105, 120, 0, 0),
		), Pass},
		{"release and acquire windows overlap but linearize", history(
			// agent-1 stops at 100 and learns of its release at 300; agent-2
			// claims at 150 and starts at 200: the release can take effect first.
			tenure("agent-1", "s", 1, 10, 20, 100, 300),
			tenure("agent-2", "s", 2, 150, 200, 0, 0),
		), Pass},
		{"crashed owner never learns of its release", history(
			tenure("agent-1", "s", 1, 10, 20, 100, 0),
			tenure("agent-2", "s", 2, 500, 510, 900, 910),
			tenure("agent-1", "s", 3, 950, 960, 0, 0),
		), Pass},
		{"work starts at the instant the previous worker stops", history(
			tenure("agent-1", "s", 1, 10, 20, 100, 0),
			tenure("agent-2", "s", 2, 90, 100, 0, 0),
		), Pass},
		{"different syncs may overlap", history(
			tenure("agent-1", "a", 1, 10, 20, 0, 0),
			tenure("agent-2", "b", 2, 10, 20, 0, 0),
		), Pass},
		{"new owner starts while the old one still works", history(
			tenure("agent-1", "s", 1, 10, 20, 400, 410),
			tenure("agent-2", "s", 2, 150, 200, 0, 0),
		), Fail},
		{"two workers of one agent overlap", history(
			tenure("agent-1", "s", 1, 10, 20, 0, 0),
			tenure("agent-1", "s", 2, 30, 40, 0, 0),
		), Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := CheckExclusiveWork(tt.h, Options{})
			if r.Status != tt.want {
				t.Fatalf("status %s, want %s: %s", r.Status, tt.want, r.Summary)
			}
			if tt.want == Fail && r.First() == nil {
				t.Fatalf("a failure must name its violation: %s", r.Summary)
			}
		})
	}
}

func TestExclusiveWorkExplainsTheOverlap(t *testing.T) {
	h := history(
		[]Event{{Time: 50 * ms, Kind: FaultStart, Fault: "isolate", Target: "agent-1"}},
		tenure("agent-1", "sync-7", 1, 10, 20, 3710, 0),
		tenure("agent-2", "sync-7", 2, 3400, 3412, 0, 0),
		[]Event{{Time: 3050 * ms, Kind: FaultEnd, Fault: "isolate", Target: "agent-1"}},
	)
	r := Check(h, Options{}).Results[0]
	v := r.First()
	if r.Status != Fail || v == nil {
		t.Fatalf("want a violation, got %s: %s", r.Status, r.Summary)
	}
	if v.Sync != "sync-7" || v.Agents[0] != "agent-1" || v.Agents[1] != "agent-2" || v.From != 3412*ms || v.To != 3710*ms {
		t.Fatalf("violation %+v", v)
	}
	for _, want := range []string{"agent-2 started sync-7 at 3.412 s", "agent-1 kept working on it until 3.710 s", "0.298 s", "isolate agent-1 from 0.050 s to 3.050 s"} {
		if !strings.Contains(v.Text, want) {
			t.Errorf("explanation %q lacks %q", v.Text, want)
		}
	}
}

func TestCheckCountsOnlyExpectedProperties(t *testing.T) {
	h := history(
		tenure("agent-1", "s", 1, 10, 20, 0, 0),
		tenure("agent-2", "s", 2, 30, 40, 0, 0),
	)
	if v := Check(h, Options{}); v.Status != Fail || v.First() == nil {
		t.Fatalf("expected P1: got %s", v)
	}
	if v := Check(h, Options{Expect: []Property{}}); v.Status != Pass || v.Results[0].Status != Fail {
		t.Fatalf("P1 not expected: the run passes and still reports the overlap; got %s", v)
	}
}

func TestIncompleteRunIsUndecided(t *testing.T) {
	h := history(
		tenure("agent-1", "s", 1, 10, 20, 0, 0),
		[]Event{{Time: 30 * ms, Kind: Skipped, Detail: "step 1: nobody was owner of sync-9 for 2s"}},
	)
	v := Check(h, Options{Expect: []Property{ExclusiveWork}})
	if v.Status != Undecided || v.First() == nil || !strings.Contains(v.First().Summary, "nobody was owner of sync-9") {
		t.Fatalf("a run with a skipped step must be undecided and say why; got %s", v)
	}
}

// sortEvents orders events by time, keeping the given order of ties.
func sortEvents(evs []Event) {
	slices.SortStableFunc(evs, func(a, b Event) int { return cmp.Compare(a.Time, b.Time) })
}

// TestFaultsDuringNamesEachPlainly: an instant step reads "at", a step with
// no target has no stray space, a window reads "from … to".
func TestFaultsDuringNamesEachPlainly(t *testing.T) {
	ms := int64(time.Millisecond)
	h := History{Events: []Event{
		{Time: 366 * ms, Kind: FaultStart, Fault: "join"},
		{Time: 366*ms + 40_000, Kind: FaultEnd, Fault: "join"},
		{Time: 1124 * ms, Kind: FaultStart, Fault: "stall", Target: "agent-2"},
		{Time: 1363 * ms, Kind: FaultEnd, Fault: "stall", Target: "agent-2"},
	}}
	got := strings.Join(faultsDuring(Faults(h), 0, 2000*ms), "; ")
	if want := "join at 0.366 s; stall agent-2 from 1.124 s to 1.363 s"; got != want {
		t.Fatalf("faults read %q, want %q", got, want)
	}
}
