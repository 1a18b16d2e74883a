package syncsimtest

import (
	"context"
	"strings"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/sim"
)

func TestMain(m *testing.M) { Main(m) }

// everyoneWorks is an agent with no coordination at all: every agent works
// on every sync at once, so any scenario catches it.
func everyoneWorks(ctx context.Context, cfg agent.Config) error {
	syncs, err := cfg.Client.Get(ctx, cfg.Prefix+"syncs/", clientv3.WithPrefix())
	if err != nil {
		return nil // stopped before it started
	}
	var workers sync.WaitGroup
	for _, kv := range syncs.Kvs {
		name := strings.TrimPrefix(string(kv.Key), cfg.Prefix+"syncs/")
		commit := func(context.Context, []byte) error { return nil }
		workers.Go(func() { cfg.Syncer.Run(ctx, agent.NewWork(name, kv.Value, 1, nil, commit)) })
	}
	workers.Wait()
	return nil
}

// TestMeasure: the reference agent passes every run, and an agent with no
// coordination is caught in every run, counted as such.
func TestMeasure(t *testing.T) {
	good := Run(t, Spec{Scenario: "owner-crash", System: agent.Run, Agent: sim.Reference, Runs: 2, Reports: t.TempDir()})
	if good.Runs != 2 || good.Caught != 0 || good.Undecided != 0 || good.First != nil {
		t.Errorf("the reference agent: %+v; want 2 passing runs", good)
	}
	bad := Measure(t, Spec{Scenario: "owner-crash", System: everyoneWorks, Agent: sim.Declared{TokenKind: "epoch"}, Reports: t.TempDir()})
	if bad.Runs != 1 || bad.Caught != 1 || bad.First == nil || !strings.Contains(bad.String(), "P1 fail") {
		t.Errorf("an agent without coordination: %+v (%s); want caught by P1 in its one run", bad, bad)
	}
}
