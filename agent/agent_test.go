package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/syncsim/syncsim/agent"
)

// fleet is the shared view of a test's syncers: who works on what, and what
// each sync committed.
type fleet struct {
	mu        sync.Mutex
	active    map[string]string // sync -> agent working on it
	committed map[string]int    // sync -> last committed checkpoint
	maybe     map[string]int    // sync -> a later checkpoint whose commit had an unknown outcome
	problems  []string
}

func newFleet() *fleet {
	return &fleet{active: map[string]string{}, committed: map[string]int{}, maybe: map[string]int{}}
}

func (f *fleet) syncer(id string) agent.Syncer { return fleetSyncer{f, id} }

type fleetSyncer struct {
	f  *fleet
	id string
}

func (s fleetSyncer) Run(ctx context.Context, w *agent.Work) error {
	f := s.f
	f.mu.Lock()
	if other, ok := f.active[w.Sync]; ok {
		f.problems = append(f.problems, fmt.Sprintf("%s started %s while %s worked on it", s.id, w.Sync, other))
	}
	resumed, _ := strconv.Atoi(string(w.Checkpoint))
	if resumed != f.committed[w.Sync] && resumed != f.maybe[w.Sync] {
		f.problems = append(f.problems, fmt.Sprintf("%s resumed %s from %d, but %d was committed", s.id, w.Sync, resumed, f.committed[w.Sync]))
	}
	f.committed[w.Sync] = resumed
	f.active[w.Sync] = s.id
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.active, w.Sync)
		f.mu.Unlock()
	}()
	n := resumed
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
		err := w.Commit(ctx, []byte(strconv.Itoa(n+1)))
		f.mu.Lock()
		switch {
		case err == nil:
			n++
			f.committed[w.Sync] = n
		case errors.Is(err, agent.ErrUnknownOutcome):
			f.maybe[w.Sync] = n + 1 // it may have been stored
		}
		f.mu.Unlock()
	}
}

// loads counts the syncs each agent works on.
func (f *fleet) loads() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := map[string]int{}
	for _, a := range f.active {
		l[a]++
	}
	return l
}

func (f *fleet) check(t *testing.T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Error(p)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(client *clientv3.Client, id string, s agent.Syncer) running {
	ctx, cancel := context.WithCancel(context.Background())
	r := running{cancel, make(chan error, 1)}
	go func() {
		r.done <- agent.Run(ctx, agent.Config{Client: client, Prefix: "/t/", ID: id, LeaseTTL: time.Second, SafetyMargin: 300 * time.Millisecond, Syncer: s})
	}()
	return r
}

func newCluster(t *testing.T) *clientv3.Client {
	integration.BeforeTestExternal(t)
	clus := integration.NewCluster(t, &integration.ClusterConfig{Size: 1})
	t.Cleanup(func() { clus.Terminate(t) })
	return clus.Client(0)
}

// TestAgentsShareSyncsAndHandOver: three agents split six syncs evenly; when
// one stops gracefully its syncs move to the others, which resume from the
// committed checkpoints, and no sync ever has two workers.
func TestAgentsShareSyncsAndHandOver(t *testing.T) {
	client := newCluster(t)
	for i := 1; i <= 6; i++ {
		if _, err := client.Put(context.Background(), fmt.Sprintf("/t/syncs/s%d", i), "{}"); err != nil {
			t.Fatal(err)
		}
	}
	f := newFleet()
	agents := map[string]running{}
	for _, id := range []string{"a1", "a2", "a3"} {
		agents[id] = start(client, id, f.syncer(id))
	}
	eventually(t, "every agent works on two syncs", func() bool {
		l := f.loads()
		return l["a1"] == 2 && l["a2"] == 2 && l["a3"] == 2
	})
	time.Sleep(100 * time.Millisecond) // let checkpoints advance

	agents["a1"].cancel()
	if err := <-agents["a1"].done; err != nil {
		t.Fatalf("graceful stop returned %v", err)
	}
	eventually(t, "the two others work on three syncs each", func() bool {
		l := f.loads()
		return l["a1"] == 0 && l["a2"] == 3 && l["a3"] == 3
	})
	for _, id := range []string{"a2", "a3"} {
		agents[id].cancel()
		<-agents[id].done
	}
	f.check(t)
	resp, err := client.Get(context.Background(), "/t/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if k := string(kv.Key); strings.HasPrefix(k, "/t/claims/") || strings.HasPrefix(k, "/t/agents/") {
			t.Errorf("%s left behind after every agent stopped", k)
		}
	}
}

func TestDuplicateIDIsRefused(t *testing.T) {
	client := newCluster(t)
	f := newFleet()
	first := start(client, "same", f.syncer("same"))
	defer func() { first.cancel(); <-first.done }()
	eventually(t, "the first agent registered", func() bool {
		resp, err := client.Get(context.Background(), "/t/agents/same")
		return err == nil && len(resp.Kvs) == 1
	})
	second := start(client, "same", f.syncer("same"))
	select {
	case err := <-second.done:
		if !errors.Is(err, agent.ErrDuplicateID) {
			t.Fatalf("second agent returned %v, want ErrDuplicateID", err)
		}
	case <-time.After(10 * time.Second):
		second.cancel()
		t.Fatal("a second agent with a live duplicate id was not refused")
	}
}

// recorder is an Observer that keeps the events of the given kinds.
type recorder struct {
	mu     sync.Mutex
	events []agent.Event
}

func (r *recorder) Observe(e agent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) count(kind agent.EventKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// TestDefinitionChangesRestartAndInvalidOnesAreSkipped: a changed
// definition restarts the worker with the new one; a definition that is not
// a JSON object is skipped and reported once, and its worker stops.
func TestDefinitionChangesRestartAndInvalidOnesAreSkipped(t *testing.T) {
	client := newCluster(t)
	ctx := context.Background()
	if err := agent.AddSync(ctx, client, "/t/", "s1", `{"v":1}`); err != nil {
		t.Fatal(err)
	}
	defs := make(chan string, 10)
	obs := &recorder{}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(actx, agent.Config{Client: client, Prefix: "/t/", ID: "a1", LeaseTTL: time.Second, SafetyMargin: 300 * time.Millisecond,
			Syncer: syncerFunc(func(ctx context.Context, w *agent.Work) error {
				defs <- string(w.Definition)
				<-ctx.Done()
				return nil
			}), Observer: obs})
	}()
	defer func() { cancel(); <-done }()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-defs:
			if got != want {
				t.Fatalf("worker started with %s, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no worker started with %s", want)
		}
	}
	expect(`{"v":1}`)
	if err := agent.AddSync(ctx, client, "/t/", "s1", `{"v":2}`); err != nil {
		t.Fatal(err)
	}
	expect(`{"v":2}`)

	// An operator bypassing AddSync writes garbage.
	if _, err := client.Put(ctx, "/t/syncs/s1", "not json"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the invalid definition is reported and its worker released", func() bool {
		return obs.count(agent.InvalidSync) == 1 && obs.count(agent.ReleaseDone) == 2
	})
	time.Sleep(1200 * time.Millisecond) // a periodic resync must not report it again
	if n := obs.count(agent.InvalidSync); n != 1 {
		t.Fatalf("invalid definition reported %d times, want once", n)
	}
	select {
	case d := <-defs:
		t.Fatalf("a worker started on an invalid definition: %s", d)
	default:
	}
}

type syncerFunc func(ctx context.Context, w *agent.Work) error

func (f syncerFunc) Run(ctx context.Context, w *agent.Work) error { return f(ctx, w) }

// TestStuckWorkerKeepsItsClaim: a Syncer that ignores cancellation makes the
// agent stop with ErrWorkerStuck without releasing the claim, so no other
// agent can start the sync while the stuck worker may still run.
func TestStuckWorkerKeepsItsClaim(t *testing.T) {
	client := newCluster(t)
	ctx := context.Background()
	if err := agent.AddSync(ctx, client, "/t/", "s1", `{}`); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Config{Client: client, Prefix: "/t/", ID: "a1", LeaseTTL: 3 * time.Second, SafetyMargin: 300 * time.Millisecond,
			Syncer: syncerFunc(func(context.Context, *agent.Work) error {
				started <- struct{}{}
				<-release // ignores its context
				return nil
			})})
	}()
	<-started
	if err := agent.RemoveSync(ctx, client, "/t/", "s1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, agent.ErrWorkerStuck) {
			t.Fatalf("Run returned %v, want ErrWorkerStuck", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent kept running with a stuck worker")
	}
	resp, err := client.Get(ctx, "/t/claims/s1")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatal("the claim was released under a worker that had not stopped")
	}
}
