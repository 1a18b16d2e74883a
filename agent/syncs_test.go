package agent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent"
)

// TestPutSyncSaysWhatItDid: the first put creates, the next replaces and
// returns the definition it replaced.
func TestPutSyncSaysWhatItDid(t *testing.T) {
	client := newCluster(t)
	ctx := context.Background()
	put, err := agent.PutSync(ctx, client, "/t", "s1", `{"v":1}`)
	if err != nil || put != (agent.Put{Key: "/t/syncs/s1", Created: true}) {
		t.Fatalf("first PutSync = %+v, %v; want created at /t/syncs/s1", put, err)
	}
	put, err = agent.PutSync(ctx, client, "/t/", "s1", `{"v":2}`)
	if err != nil || put != (agent.Put{Key: "/t/syncs/s1", Previous: `{"v":1}`}) {
		t.Fatalf("second PutSync = %+v, %v; want {\"v\":1} replaced", put, err)
	}
}

// TestListAgentsShowsLeaderAndLoad: two agents share three syncs; the
// listing names the leader each agent's events say won, and counts each
// agent's assigned and claimed syncs; when the leader stops, the other leads
// and holds all three.
func TestListAgentsShowsLeaderAndLoad(t *testing.T) {
	client := newCluster(t)
	ctx := context.Background()
	for _, s := range []string{"s1", "s2", "s3"} {
		if err := agent.AddSync(ctx, client, "/t/", s, "{}"); err != nil {
			t.Fatal(err)
		}
	}
	f := newFleet()
	obs := map[string]*recorder{}
	stop := map[string]func(){}
	defer func() {
		for _, s := range stop {
			s()
		}
	}()
	for _, id := range []string{"a1", "a2"} {
		o := &recorder{}
		obs[id] = o
		actx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { // reads no map: the next agent's entry is written meanwhile
			done <- agent.Run(actx, agent.Config{Client: client, Prefix: "/t/", ID: id, LeaseTTL: time.Second, SafetyMargin: 300 * time.Millisecond,
				Syncer: f.syncer(id), Observer: o})
		}()
		stop[id] = sync.OnceFunc(func() { cancel(); <-done })
	}
	var list []agent.AgentStatus
	settled := func(want int) func() bool {
		return func() bool {
			var err error
			list, err = agent.ListAgents(ctx, client, "/t/")
			claimed := 0
			for _, a := range list {
				claimed += a.Claimed
			}
			return err == nil && len(list) == want && claimed == 3
		}
	}
	eventually(t, "both agents are listed and claim every sync", settled(2))
	leader := ""
	for _, a := range list {
		if a.Leader {
			leader += a.ID
		}
		if a.Assigned != a.Claimed || a.Assigned < 1 || a.Assigned > 2 {
			t.Errorf("%s: %d assigned, %d claimed; want the same, 1 or 2", a.ID, a.Assigned, a.Claimed)
		}
	}
	if leader == "" || obs[leader].count(agent.LeaderWon) != 1 || obs[leader].count(agent.LeaderLost) != 0 {
		t.Fatalf("listed leader %q, which is not the one agent that won: %+v", leader, list)
	}
	stop[leader]()
	eventually(t, "the other agent is listed alone", settled(1))
	if a := list[0]; a.ID == leader || !a.Leader || a.Assigned != 3 || a.Claimed != 3 {
		t.Fatalf("after %s stopped: %+v, want the other leading with 3 syncs", leader, a)
	}
	f.check(t)
}
