package metrics

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncsim/syncsim/agent"
)

func TestEventsMoveMetricsAndHealth(t *testing.T) {
	o := New(prometheus.NewRegistry())
	health := func() int {
		rec := httptest.NewRecorder()
		o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec.Code
	}
	if health() != http.StatusServiceUnavailable {
		t.Fatal("healthy before registering")
	}
	for _, e := range []agent.Event{
		{Kind: agent.Registered},
		{Kind: agent.LeaderWon},
		{Kind: agent.Rebalanced, Moves: 3},
		{Kind: agent.ClaimDone, Sync: "a", Elapsed: 20 * time.Millisecond},
		{Kind: agent.ClaimDone, Sync: "b", Elapsed: 30 * time.Millisecond},
		{Kind: agent.ClaimDone, Sync: "c", Err: agent.ErrFenced}, // taken: not owned
		{Kind: agent.Committed, Sync: "a"},
		{Kind: agent.Committed, Sync: "a", Err: agent.ErrFenced},
		{Kind: agent.Committed, Sync: "a", Err: agent.ErrUnknownOutcome},
		{Kind: agent.ReleaseStart, Sync: "a"},
		{Kind: agent.InvalidSync, Sync: "d"},
	} {
		o.Observe(e)
	}
	if health() != http.StatusOK {
		t.Fatal("unhealthy while registered")
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"owned", testutil.ToFloat64(o.owned), 1},
		{"leader", testutil.ToFloat64(o.leader), 1},
		{"rebalances", testutil.ToFloat64(o.rebalances), 1},
		{"moves", testutil.ToFloat64(o.moves), 3},
		{"commits ok", testutil.ToFloat64(o.commits.WithLabelValues("ok")), 1},
		{"commits rejected", testutil.ToFloat64(o.commits.WithLabelValues("rejected")), 1},
		{"commits unknown", testutil.ToFloat64(o.commits.WithLabelValues("unknown")), 1},
		{"invalid", testutil.ToFloat64(o.invalid), 1},
		{"handovers", float64(testutil.CollectAndCount(o.handover)), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	o.Observe(agent.Event{Kind: agent.Fenced, Err: errors.New("no keepalive acknowledged in time")})
	o.Observe(agent.Event{Kind: agent.LeaderLost})
	if health() != http.StatusServiceUnavailable || testutil.ToFloat64(o.fences) != 1 || testutil.ToFloat64(o.leader) != 0 {
		t.Fatal("a fence must make the agent unhealthy, count, and end leadership")
	}
}
