package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
)

// fixture is a sink on a test server, with agent-1 and agent-2 (first
// incarnations) admitted, and the events it recorded.
type fixture struct {
	srv *Server
	url string
	mu  sync.Mutex
	evs []Event
}

func newFixture(t *testing.T, fence bool) *fixture {
	f := &fixture{}
	// The clock ticks a millisecond per reading: the sink reads it once per request.
	var ticks time.Duration
	clock := func() time.Duration { ticks += time.Millisecond; return ticks }
	f.srv = NewServer(func(e Event) { f.mu.Lock(); f.evs = append(f.evs, e); f.mu.Unlock() }, clock, fence)
	f.srv.Admit("agent-1", 1)
	f.srv.Admit("agent-2", 1)
	ts := httptest.NewServer(f.srv)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

func (f *fixture) client(agent string) *wire.Client {
	return &wire.Client{URL: f.url, Sender: wire.Sender{Agent: agent, Incarnation: 1}}
}

func (f *fixture) events() []Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Event(nil), f.evs...)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWorkerLifecycle(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client("agent-1")
	n, err := c.Started(ctx, wire.Started{Sync: "sync-1", Token: 5, Position: 3})
	must(t, err)
	must(t, c.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 5, Position: 4}))
	must(t, c.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 5, Position: 4, Checkpoint: true}))
	must(t, c.Stopped(ctx, wire.Stopped{Sync: "sync-1", Token: 5}))
	// A late effect of a stopped worker is still an effect the target saw.
	must(t, c.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 5, Position: 5}))

	want := []Event{
		{Kind: Started, Agent: "agent-1", Incarnation: 1, Worker: n, Sync: "sync-1", Token: 5, TokenKind: wire.Revision, Position: 3},
		{Kind: Effect, Agent: "agent-1", Incarnation: 1, Worker: n, Sync: "sync-1", Token: 5, Position: 4, Accepted: true},
		{Kind: Effect, Agent: "agent-1", Incarnation: 1, Worker: n, Sync: "sync-1", Token: 5, Position: 4, Checkpoint: true, Accepted: true},
		{Kind: Stopped, Agent: "agent-1", Incarnation: 1, Worker: n, Sync: "sync-1", Token: 5},
		{Kind: Effect, Agent: "agent-1", Incarnation: 1, Worker: n, Sync: "sync-1", Token: 5, Position: 5, Accepted: true},
	}
	got := f.events()
	if n != 1 || len(got) != len(want) {
		t.Fatalf("worker %d, events %+v", n, got)
	}
	for i := range got {
		if at := time.Duration(i+1) * time.Millisecond; got[i].Time != at {
			t.Errorf("event %d stamped %v, want the clock's reading %v", i, got[i].Time, at)
		}
		got[i].Time = 0
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// twoOwners has agent-2 take sync-1 with token 7 and write, then agent-1,
// which started earlier with token 5, write late.
func twoOwners(t *testing.T, f *fixture) error {
	ctx := context.Background()
	old, cur := f.client("agent-1"), f.client("agent-2")
	_, err := old.Started(ctx, wire.Started{Sync: "sync-1", Token: 5})
	must(t, err)
	_, err = cur.Started(ctx, wire.Started{Sync: "sync-1", Token: 7})
	must(t, err)
	must(t, cur.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 7, Position: 1}))
	return old.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 5, Position: 9})
}

func TestFencedTargetRefusesOlderToken(t *testing.T) {
	f := newFixture(t, true)
	err := twoOwners(t, f)
	var sinkErr *wire.Error
	if !errors.Is(err, wire.ErrFenced) || !errors.As(err, &sinkErr) || sinkErr.Newest != 7 {
		t.Fatalf("a stale token's effect: %v, want a 409 naming newest token 7", err)
	}
	last := f.events()[3]
	if last.Kind != Effect || last.Accepted || last.Agent != "agent-1" || !strings.Contains(last.Detail, "older than 7") {
		t.Errorf("the refused effect was recorded as %+v", last)
	}
}

func TestUnfencedTargetAcceptsOlderToken(t *testing.T) {
	f := newFixture(t, false)
	must(t, twoOwners(t, f))
	if last := f.events()[3]; !last.Accepted || last.Agent != "agent-1" {
		t.Errorf("an unfenced target's late effect was recorded as %+v", last)
	}
}

func TestLeaderSteps(t *testing.T) {
	f := newFixture(t, true)
	ctx := context.Background()
	c := f.client("agent-1")
	for _, st := range []wire.LeaderState{wire.Won, wire.SteppingDown, wire.Lost, wire.Won, wire.Lost} {
		must(t, c.Leader(ctx, wire.Leader{State: st, Term: 12}))
	}
	evs := f.events()
	if len(evs) != 5 || evs[1].Kind != Leader || evs[1].LeaderState != wire.SteppingDown || evs[1].Token != 12 {
		t.Errorf("leadership recorded as %+v", evs)
	}
}

func TestProtocolErrors(t *testing.T) {
	started := `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":5}`
	start, stop := wire.PathStarted+" "+started, wire.PathStopped+" "+started
	cases := []struct {
		name, path, body string
		before           []string // "PATH BODY" requests sent first
		status           int
		detail           string
	}{
		{"bad JSON", wire.PathEffect, `{"agent":`, nil, 400, "not the expected JSON object"},
		{"unknown field", wire.PathEffect, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":5,"posiiton":3}`, nil, 400, `unknown field "posiiton"`},
		{"two values", wire.PathStarted, started + started, nil, 400, "more than one JSON value"},
		{"unknown agent", wire.PathStarted, `{"agent":"agent-9","incarnation":1,"sync":"sync-1","token":5}`, nil, 400, `unknown agent "agent-9" incarnation 1`},
		{"stale incarnation", wire.PathStarted, `{"agent":"agent-1","incarnation":2,"sync":"sync-1","token":5}`, nil, 400, `unknown agent "agent-1" incarnation 2`},
		{"no sync", wire.PathStarted, `{"agent":"agent-1","incarnation":1,"token":5}`, nil, 400, "sync is missing"},
		{"negative token", wire.PathStarted, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":-1}`, nil, 400, "negative"},
		{"token kind", wire.PathStarted, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":5,"token_kind":"lamport"}`, nil, 400, `token_kind "lamport"`},
		{"started twice", wire.PathStarted, started, []string{start}, 400, "has not reported /v1/stopped"},
		{"effect before start", wire.PathEffect, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":5}`, nil, 400, "has not reported /v1/started on sync-1"},
		{"effect with another token", wire.PathEffect, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":6}`, []string{start}, 400, "started with token 5"},
		{"stopped before start", wire.PathStopped, `{"agent":"agent-1","incarnation":1,"sync":"sync-1","token":5}`, nil, 400, "has not reported /v1/started"},
		{"stopped twice", wire.PathStopped, started, []string{start, stop}, 400, "already reported /v1/stopped"},
		{"lost before won", wire.PathLeader, `{"agent":"agent-1","incarnation":1,"state":"lost"}`, nil, 400, `"lost" while not leading`},
		{"unknown state", wire.PathLeader, `{"agent":"agent-1","incarnation":1,"state":"elected"}`, nil, 400, `state "elected"`},
		{"unknown path", "/v1/commit", `{}`, nil, 404, "no such path"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, true)
			for _, req := range tc.before {
				path, body, _ := strings.Cut(req, " ")
				post(t, f.url+path, body, http.StatusOK)
			}
			reply := post(t, f.url+tc.path, tc.body, tc.status)
			evs := f.events()
			last := evs[len(evs)-1]
			if last.Kind != ProtocolError || !strings.Contains(last.Detail, tc.detail) || !strings.Contains(reply, tc.detail) {
				t.Errorf("recorded %+v, answered %s; want a protocol error saying %q", last, reply, tc.detail)
			}
		})
	}
}

func TestGetIsRefused(t *testing.T) {
	f := newFixture(t, true)
	resp, err := http.Get(f.url + wire.PathEffect)
	must(t, err)
	resp.Body.Close()
	if evs := f.events(); resp.StatusCode != http.StatusMethodNotAllowed || len(evs) != 1 || evs[0].Kind != ProtocolError {
		t.Errorf("GET answered %d, recorded %+v", resp.StatusCode, evs)
	}
}

func post(t *testing.T, url, body string, status int) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	must(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must(t, err)
	if resp.StatusCode != status {
		t.Fatalf("POST %s %s: %d %s, want %d", url, body, resp.StatusCode, b, status)
	}
	var reply wire.Reply
	must(t, json.Unmarshal(b, &reply))
	return reply.Error
}

// deadSender sends raw requests to the sink at addr and hangs up, as a
// process killed right after its writes does: the kernel closes its
// connection, the request waits in the socket.
func deadSender(t *testing.T, addr string, requests ...string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range requests {
		if _, err := io.WriteString(c, r); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
}

func rawPost(path, body string, length int) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: sink\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, length, body)
}

// TestDrainHearsTheLastWords: Drain returns only once the sink has taken
// what a process sent before it died, so its end is recorded after its
// last effect, and it does not wait on a live client's idle connection;
// a request the death cut short is dropped, not reported as a protocol
// error (which would leave the run undecided).
func TestDrainHearsTheLastWords(t *testing.T) {
	var mu sync.Mutex
	var evs []Event
	slow := true
	srv := NewServer(func(e Event) {
		if slow { // the sink is busy: the request waits
			slow = false
			time.Sleep(50 * time.Millisecond)
		}
		mu.Lock()
		evs = append(evs, e)
		mu.Unlock()
	}, nil, false)
	srv.Admit("agent-1", 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	// A live client's unused connection: quiet, it must not hold Drain up.
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	body := `{"agent":"agent-1","incarnation":1,"state":"won","term":7}`
	deadSender(t, ln.Addr().String(), rawPost(wire.PathLeader, body, len(body)))
	deadSender(t, ln.Addr().String(), rawPost(wire.PathLeader, body[:10], len(body)))
	if !srv.Drain(wire.Sender{Agent: "agent-1", Incarnation: 1}, 5*time.Second) {
		t.Fatal("Drain gave up on a dead sender's connections")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(evs) != 1 || evs[0].Kind != Leader || evs[0].Token != 7 {
		t.Fatalf("after Drain the sink recorded %+v; want the one whole request, a leader report with term 7", evs)
	}
}
