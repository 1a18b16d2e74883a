package model

import (
	"strconv"
	"strings"
	"testing"
)

// A process's reports to the sink, as sim's sinkEvent records them.
func started(agent string, inc, worker int, sync string, token, pos, at int64) Event {
	return Event{Time: at * ms, Kind: WorkStart, Agent: agent, Incarnation: inc, Worker: worker, Sync: sync, Token: token, Value: strconv.FormatInt(pos, 10)}
}

func stopped(agent string, inc, worker int, sync string, at int64) Event {
	return Event{Time: at * ms, Kind: WorkExit, Agent: agent, Incarnation: inc, Worker: worker, Sync: sync}
}

func wrote(agent string, inc, worker int, sync string, token, pos, at int64, outcome Outcome) Event {
	return Event{Time: at * ms, Kind: Effect, Agent: agent, Incarnation: inc, Worker: worker, Sync: sync, Token: token, Value: strconv.FormatInt(pos, 10), Outcome: outcome}
}

func checkpointEffect(agent string, inc, worker int, sync string, token, pos, at int64) Event {
	e := wrote(agent, inc, worker, sync, token, pos, at, OK)
	e.Checkpoint = true
	return e
}

// ownLayout checks as for an agent of its own key layout.
var ownLayout = Options{OwnLayout: true, Unbalanced: true}

func TestEffectsOfTwoWorkersMustNotInterleave(t *testing.T) {
	// Client-go style: both holders share token 40, and agent-1 reported
	// stopping before its late write landed.
	base := []Event{
		started("agent-1", 1, 1, "sync-1", 40, 0, 10), wrote("agent-1", 1, 1, "sync-1", 40, 1, 20, OK),
		stopped("agent-1", 1, 1, "sync-1", 30),
		started("agent-2", 1, 2, "sync-1", 40, 1, 40), wrote("agent-2", 1, 2, "sync-1", 40, 2, 50, OK),
	}
	if r, _ := CheckExclusiveWork(history(base), ownLayout); r.Status != Pass {
		t.Fatalf("a clean handover: %s", r.Summary)
	}
	late := wrote("agent-1", 1, 1, "sync-1", 40, 2, 60, OK)
	r, _ := CheckExclusiveWork(history(base, []Event{late}), ownLayout)
	if r.Status != Fail || !strings.Contains(r.Summary, "agent-1 (incarnation 1)'s effect") || !strings.Contains(r.Summary, "interleaved") {
		t.Fatalf("agent-1's late write after agent-2's: P1 %s: %s", r.Status, r.Summary)
	}
	if v := r.First(); v.Agents[0] != "agent-1" {
		t.Fatalf("the late write is blamed on %v, not on its sender agent-1", v.Agents)
	}
	late.Outcome = Failed // a fenced target refused it: nothing interleaved
	if r, _ := CheckExclusiveWork(history(base, []Event{late}), ownLayout); r.Status != Pass {
		t.Fatalf("a refused late write: %s", r.Summary)
	}
}

func TestEffectsNeverGoBackwards(t *testing.T) {
	first := []Event{started("agent-1", 1, 1, "sync-1", 7, 0, 10), wrote("agent-1", 1, 1, "sync-1", 7, 5, 20, OK)}
	tests := []struct {
		name string
		more []Event
		want string // "" for a pass
	}{
		{"a newer token redoes an uncheckpointed position", []Event{started("agent-2", 1, 2, "sync-1", 9, 4, 30), wrote("agent-2", 1, 2, "sync-1", 9, 5, 40, OK)}, ""},
		{"an epoch token one above", []Event{started("agent-2", 1, 2, "sync-1", 8, 5, 30), wrote("agent-2", 1, 2, "sync-1", 8, 6, 40, OK)}, ""},
		{"an older token accepted", []Event{started("agent-2", 1, 2, "sync-1", 9, 5, 30), wrote("agent-2", 1, 2, "sync-1", 9, 6, 40, OK), wrote("agent-1", 1, 1, "sync-1", 7, 6, 50, OK)},
			"accepted agent-1 (incarnation 1)'s effect at 0.050 s with token 7 after token 9"},
		{"an older token refused", []Event{started("agent-2", 1, 2, "sync-1", 9, 5, 30), wrote("agent-2", 1, 2, "sync-1", 9, 6, 40, OK), wrote("agent-1", 1, 1, "sync-1", 7, 6, 50, Failed)}, ""},
		{"a smaller position under one token", []Event{wrote("agent-1", 1, 1, "sync-1", 7, 4, 30, OK)}, "position 4 after position 5 under the same token 7"},
	}
	for _, tt := range tests {
		r, _ := CheckFencedEffects(history(first, tt.more), ownLayout)
		if (r.Status == Pass) != (tt.want == "") || !strings.Contains(r.Summary, tt.want) {
			t.Errorf("%s: P2 %s: %s; want %q", tt.name, r.Status, r.Summary, tt.want)
		}
	}
}

func TestStartsResumeFromTheLastCheckpoint(t *testing.T) {
	first := []Event{started("agent-1", 1, 1, "sync-1", 7, 0, 10), checkpointEffect("agent-1", 1, 1, "sync-1", 7, 5, 20), stopped("agent-1", 1, 1, "sync-1", 25)}
	for pos, want := range map[int64]string{5: "", 3: "progress was repeated", 6: "progress was lost"} {
		r, _ := CheckFencedEffects(history(first, []Event{started("agent-2", 1, 2, "sync-1", 9, pos, 30)}), ownLayout)
		if (r.Status == Pass) != (want == "") || !strings.Contains(r.Summary, want) {
			t.Errorf("resumed from %d: P2 %s: %s; want %q", pos, r.Status, r.Summary, want)
		}
	}
}

// An agent of its own layout keeps a record under claims/ and counts
// epochs as tokens: the reference layout's checks of etcd's log would
// accuse it (no key was created at revision 3), so they apply only to the
// reference layout.
func TestOwnLayoutSkipsTheReferenceLogChecks(t *testing.T) {
	h := history(
		start("agent-1", "sync-1", 1, 3, 1, 5, ""),
		[]Event{
			logPut("claims/sync-1", 10, 10, "agent-1"),
			commit("agent-1", "sync-1", 1, 20, 21, "1@3", OK), logPut("checkpoints/sync-1", 11, 11, "1@3"),
		})
	if r, _ := CheckFencedEffects(h, Options{}); r.Status != Fail {
		t.Fatalf("the reference layout's log checks passed an epoch token: %s", r.Summary)
	}
	r, _ := CheckFencedEffects(h, ownLayout)
	if r.Status != Pass {
		t.Fatalf("an own layout: P2 %s: %s", r.Status, r.Summary)
	}
	for _, c := range r.Checks {
		if strings.Contains(c, "etcd's log") {
			t.Fatalf("an own layout's P2 says it applied %q", c)
		}
	}
}

// A leader that reports losing leadership after its resign returned, and
// so after the next leader won, overlapped nobody: a step-down is a
// release window.
func TestStepDownIsAReleaseWindow(t *testing.T) {
	terms := []Event{
		{Time: 10 * ms, Kind: LeaderWon, Agent: "agent-1", Token: 1},
		{Time: 60 * ms, Kind: LeaderWon, Agent: "agent-2", Token: 2},
		{Time: 61 * ms, Kind: LeaderLost, Agent: "agent-1", Token: 1},
	}
	if r, _ := CheckExclusiveWork(history(terms), ownLayout); r.Status != Fail {
		t.Fatalf("a loss reported after the next leader won, with no step-down: %s", r.Summary)
	}
	stepDown := Event{Time: 50 * ms, Kind: LeaderStepDown, Agent: "agent-1", Token: 1}
	if r, _ := CheckExclusiveWork(history(terms, []Event{stepDown}), ownLayout); r.Status != Pass {
		t.Fatalf("a step-down begun before the next leader won: %s", r.Summary)
	}
}

// batchFleet: agent-1 and agent-2 run short batches on three syncs, each
// sync idle between its batches, and both are idle at the end.
func batchFleet() History {
	evs := []Event{{Time: 1, Kind: AgentStart, Agent: "agent-1"}, {Time: 1, Kind: AgentStart, Agent: "agent-2"}}
	worker := 0
	for i, s := range []string{"sync-1", "sync-2", "sync-3"} {
		evs = append(evs, Event{Time: 1, Kind: SyncAdded, Sync: s})
		for b := int64(0); b < 10; b++ {
			worker++
			agent := []string{"agent-1", "agent-2"}[(i+int(b))%2]
			at := 100 + b*200 + int64(i)*10
			evs = append(evs, started(agent, 0, worker, s, b, b, at), wrote(agent, 0, worker, s, b, b+1, at+30, OK), stopped(agent, 0, worker, s, at+60))
		}
	}
	evs = append(evs, Event{Time: 2100 * ms, Kind: QuietEnd})
	for i := range evs {
		evs[i].Incarnation = 0 // an in-process agent: effects are the Syncer's commits
		if evs[i].Kind == Effect {
			evs[i].Kind, evs[i].Call = Commit, evs[i].Time-ms
		}
	}
	return history(evs)
}

func TestProgressOfABatchAgentIsJudgedOverAWindow(t *testing.T) {
	h := batchFleet()
	if r := CheckProgress(h, Options{}); r.Status != Fail || !strings.Contains(r.Summary, "nobody works on sync-1") {
		t.Fatalf("judged at one instant: P3 %s: %s", r.Status, r.Summary)
	}
	if r := CheckProgress(h, ownLayout); r.Status != Pass {
		t.Fatalf("judged over a window: P3 %s: %s", r.Status, r.Summary)
	}
	// A sync that got nothing in the last second fails even so.
	stuck := History{Version: h.Version}
	for _, e := range h.Events {
		if e.Sync != "sync-2" || e.Time < 1000*ms {
			stuck.Events = append(stuck.Events, e)
		}
	}
	stuck.Events = append(stuck.Events[:0:0], stuck.Events...)
	stuck.Events = append(stuck.Events, Event{Time: 1, Kind: SyncAdded, Sync: "sync-2"})
	sortEvents(stuck.Events)
	if r := CheckProgress(stuck, ownLayout); r.Status != Fail || !strings.Contains(r.Summary, "no effect on sync-2") {
		t.Fatalf("a sync that stopped progressing: P3 %s: %s", r.Status, r.Summary)
	}
}

func TestBalanceIsSeparableFromProgress(t *testing.T) {
	h := history(settledFleet(), []Event{{Time: 1500 * ms, Kind: AgentStart, Agent: "a3"}, {Time: 1500 * ms, Kind: SyncAdded, Sync: "s3"},
		{Time: 1500 * ms, Kind: WorkStart, Agent: "a1", Sync: "s3", Worker: 5}, commit("a1", "s3", 5, 1900, 1950, "", OK),
		{Time: 2000 * ms, Kind: QuietEnd}})
	if r := CheckProgress(h, Options{}); r.Status != Fail {
		t.Fatalf("loads 2/1/0 passed the balance: %s", r.Summary)
	}
	if r := CheckProgress(h, Options{Unbalanced: true}); r.Status != Pass || strings.Contains(strings.Join(r.Checks, ";"), "balanced") {
		t.Fatalf("an agent that declares no balance: P3 %s: %s (checks %q)", r.Status, r.Summary, r.Checks)
	}
}

func TestLateEffectsBreakStopMeansStop(t *testing.T) {
	h := history([]Event{
		{Time: 1, Kind: AgentStart, Agent: "agent-1"},
		started("agent-1", 1, 1, "sync-1", 4, 0, 10), wrote("agent-1", 1, 1, "sync-1", 4, 1, 20, OK),
		{Time: 30 * ms, Kind: AgentCrash, Agent: "agent-1"},
		wrote("agent-1", 1, 1, "sync-1", 4, 2, 40, OK),
	})
	if r := CheckStop(h, Options{}.stopBound()); r.Status != Fail || !strings.Contains(r.Summary, "agent-1 (incarnation 1) made an effect on sync-1 at 0.040 s, after its process ended") {
		t.Fatalf("an effect after the process ended: P4 %s: %s", r.Status, r.Summary)
	}
}

func TestStableCountsChangesOfHands(t *testing.T) {
	h := batchFleet()
	h.Events = append(h.Events, Event{Time: 150 * ms, Kind: Ready}) // every sync had its first batch
	sortEvents(h.Events)
	if r := checkStable(h, Options{}); r.Status != Fail {
		t.Fatalf("every batch is a new worker: %s", r.Summary)
	}
	// Batches of one agent on a sync are one tenure; another agent's is not.
	same := History{Version: h.Version}
	for _, e := range h.Events {
		e.Agent = strings.Replace(e.Agent, "agent-2", "agent-1", 1)
		same.Events = append(same.Events, e)
	}
	if r := checkStable(same, ownLayout); r.Status != Pass {
		t.Fatalf("one agent's batches: %s", r.Summary)
	}
	if r := checkStable(h, ownLayout); r.Status != Fail {
		t.Fatalf("syncs passing between agents: %s", r.Summary)
	}
}
