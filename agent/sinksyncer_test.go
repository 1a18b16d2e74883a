package agent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent"
	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/sim/sink"
)

// sinkRun runs a SinkSyncer as agent-1 on sync-1 with token 9 from
// checkpoint "4@9" against a sink (refusing stale tokens), after before
// ran against the sink as agent-2, until the worker committed commits
// times or 500 ms passed. It returns the sink's events and the commits.
func sinkRun(t *testing.T, before func(*wire.Client), commits int) ([]sink.Event, []string) {
	var (
		mu  sync.Mutex
		evs []sink.Event
		cps []string
	)
	srv := sink.NewServer(func(e sink.Event) { mu.Lock(); evs = append(evs, e); mu.Unlock() }, nil, true)
	srv.Admit("agent-1", 1)
	srv.Admit("agent-2", 1)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	before(&wire.Client{URL: ts.URL, Sender: wire.Sender{Agent: "agent-2", Incarnation: 1}})

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	work := agent.NewWork("sync-1", []byte("{}"), 9, []byte("4@9"), func(_ context.Context, cp []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if cps = append(cps, string(cp)); len(cps) == commits {
			cancel()
		}
		return nil
	})
	s := agent.SinkSyncer{Client: &wire.Client{URL: ts.URL, Sender: wire.Sender{Agent: "agent-1", Incarnation: 1}},
		Every: 5 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := s.Run(ctx, work); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(evs), slices.Clone(cps)
}

// kinds lists the events' kinds, with each effect's position and whether
// the target accepted it.
func kinds(evs []sink.Event) []string {
	var out []string
	for _, e := range evs {
		if e.Kind != sink.Effect {
			out = append(out, string(e.Kind))
			continue
		}
		verdict := "refused"
		if e.Accepted {
			verdict = "accepted"
		}
		out = append(out, fmt.Sprintf("%s effect %d %s", e.Agent, e.Position, verdict))
	}
	return out
}

func TestSinkSyncerReportsItsWork(t *testing.T) {
	evs, cps := sinkRun(t, func(*wire.Client) {}, 3)
	want := []string{"started", "agent-1 effect 5 accepted", "agent-1 effect 6 accepted", "agent-1 effect 7 accepted", "stopped"}
	if got := kinds(evs); !slices.Equal(got, want) || evs[0].Position != 4 || evs[0].Token != 9 {
		t.Errorf("sink saw %q (started %+v), want %q from position 4, token 9", got, evs[0], want)
	}
	if want := []string{"5@9", "6@9", "7@9"}; !slices.Equal(cps, want) {
		t.Errorf("commits %q, want %q", cps, want)
	}
}

func TestSinkSyncerStopsWritingOnceRefused(t *testing.T) {
	newer := func(c *wire.Client) {
		ctx := context.Background()
		if _, err := c.Started(ctx, wire.Started{Sync: "sync-1", Token: 10}); err != nil {
			t.Fatal(err)
		}
		if err := c.Effect(ctx, wire.Effect{Sync: "sync-1", Token: 10, Position: 5}); err != nil {
			t.Fatal(err)
		}
	}
	evs, cps := sinkRun(t, newer, 1)
	want := []string{"started", "agent-2 effect 5 accepted", "started", "agent-1 effect 5 refused", "stopped"}
	if got := kinds(evs); !slices.Equal(got, want) || len(cps) > 0 {
		t.Errorf("sink saw %q and commits %q; want %q and no commit", got, cps, want)
	}
}
