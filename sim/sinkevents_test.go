package sim

import (
	"strings"
	"testing"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim/sink"
)

func TestSinkEvent(t *testing.T) {
	from := sink.Event{Time: 7 * time.Millisecond, Agent: "agent-2", Incarnation: 3, Worker: 5, Sync: "sync-1", Token: 41}
	with := func(f func(*sink.Event)) sink.Event { e := from; f(&e); return e }
	want := model.Event{Time: int64(7 * time.Millisecond), Agent: "agent-2", Incarnation: 3, Worker: 5, Sync: "sync-1", Token: 41}
	like := func(f func(*model.Event)) model.Event { e := want; f(&e); return e }
	for _, c := range []struct {
		name string
		in   sink.Event
		want model.Event
	}{
		{"started", with(func(e *sink.Event) { e.Kind, e.Position, e.TokenKind = sink.Started, 12, wire.Epoch }),
			like(func(e *model.Event) { e.Kind, e.Value, e.TokenKind = model.WorkStart, "12", "epoch" })},
		{"accepted effect", with(func(e *sink.Event) { e.Kind, e.Position, e.Accepted, e.Checkpoint = sink.Effect, 13, true, true }),
			like(func(e *model.Event) { e.Kind, e.Value, e.Outcome, e.Checkpoint = model.Effect, "13", model.OK, true })},
		{"refused effect", with(func(e *sink.Event) { e.Kind, e.Position, e.Detail = sink.Effect, 14, "token 41 is older than 42" }),
			like(func(e *model.Event) {
				e.Kind, e.Value, e.Outcome, e.Detail = model.Effect, "14", model.Failed, "token 41 is older than 42"
			})},
		{"stopped", with(func(e *sink.Event) { e.Kind = sink.Stopped }),
			like(func(e *model.Event) { e.Kind = model.WorkExit })},
		{"leader won", with(func(e *sink.Event) { e.Kind, e.LeaderState = sink.Leader, wire.Won }),
			like(func(e *model.Event) { e.Kind = model.LeaderWon })},
		{"stepping down", with(func(e *sink.Event) { e.Kind, e.LeaderState = sink.Leader, wire.SteppingDown }),
			like(func(e *model.Event) { e.Kind = model.LeaderStepDown })},
		{"stepped down", with(func(e *sink.Event) { e.Kind, e.LeaderState = sink.Leader, wire.Lost }),
			like(func(e *model.Event) { e.Kind = model.LeaderLost })},
	} {
		if got := sinkEvent(c.in); got != c.want {
			t.Errorf("%s: sinkEvent(%+v)\n = %+v\nwant %+v", c.name, c.in, got, c.want)
		}
	}
}

// A request that broke the protocol, or a kind the harness does not know,
// leaves the run undecided, naming the agent and what went wrong.
func TestSinkEventUndecided(t *testing.T) {
	for _, e := range []sink.Event{
		{Kind: sink.ProtocolError, Agent: "agent-1", Incarnation: 2, Detail: "/v1/effect: the sync is missing"},
		{Kind: "gossip", Agent: "agent-1", Incarnation: 2},
		{Kind: sink.Leader, Agent: "agent-1", Incarnation: 2, LeaderState: "abdicated"},
	} {
		got := sinkEvent(e)
		if got.Kind != model.Skipped || !strings.Contains(got.Detail, "agent-1 (incarnation 2)") {
			t.Errorf("sinkEvent(%+v) = %+v, want a skip naming agent-1 (incarnation 2)", e, got)
		}
	}
	if got := sinkEvent(sink.Event{Kind: sink.ProtocolError, Agent: "a", Detail: "/v1/effect: the sync is missing"}); !strings.Contains(got.Detail, "the sync is missing") || !strings.Contains(got.Detail, "agent-protocol.md") {
		t.Errorf("a protocol error's detail %q does not say what went wrong and where the protocol is written", got.Detail)
	}
}
