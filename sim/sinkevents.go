package sim

import (
	"fmt"
	"strconv"

	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim/sink"
)

// leaderKinds maps a leadership report to the event it records.
var leaderKinds = map[wire.LeaderState]model.Kind{
	wire.Won:          model.LeaderWon,
	wire.SteppingDown: model.LeaderStepDown,
	wire.Lost:         model.LeaderLost,
}

// sinkKinds maps the sink's other events to the events they record.
var sinkKinds = map[sink.Kind]model.Kind{
	sink.Started: model.WorkStart,
	sink.Effect:  model.Effect,
	sink.Stopped: model.WorkExit,
}

// sinkEvent is what an agent process reported to the sink, as the history
// records it: the same events the harness's own Syncer and observer record
// for an agent in-process, plus its effects on the target. A request that
// broke the protocol leaves the run undecided.
func sinkEvent(e sink.Event) model.Event {
	ev := model.Event{Time: int64(e.Time), Agent: e.Agent, Incarnation: e.Incarnation, Sync: e.Sync, Worker: e.Worker, Token: e.Token}
	switch e.Kind {
	case sink.Leader:
		ev.Kind = leaderKinds[e.LeaderState]
	case sink.ProtocolError:
		ev.Kind = model.Skipped
		ev.Detail = fmt.Sprintf("%s (incarnation %d) broke the sink protocol, so the harness cannot tell what it did: %s (docs/agent-protocol.md)", e.Agent, e.Incarnation, e.Detail)
	default:
		ev.Kind = sinkKinds[e.Kind]
	}
	switch e.Kind {
	case sink.Started:
		ev.Value, ev.TokenKind = strconv.FormatInt(e.Position, 10), string(e.TokenKind)
	case sink.Effect:
		ev.Value, ev.Checkpoint, ev.Outcome, ev.Detail = strconv.FormatInt(e.Position, 10), e.Checkpoint, model.Failed, e.Detail
		if e.Accepted {
			ev.Outcome = model.OK
		}
	}
	if ev.Kind == "" { // a kind this harness does not know: never silently dropped
		ev.Kind = model.Skipped
		ev.Detail = fmt.Sprintf("%s (incarnation %d) reported %q (state %q), which this harness does not know", e.Agent, e.Incarnation, e.Kind, e.LeaderState)
	}
	return ev
}
