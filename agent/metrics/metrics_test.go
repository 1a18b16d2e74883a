package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/internal/buildinfo"
)

func TestEventsMoveMetricsAndHealth(t *testing.T) {
	o := New(prometheus.NewRegistry())
	health := func() int {
		rec := httptest.NewRecorder()
		o.Readyz().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
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

// TestLivenessFollowsTheLoopsNotEtcd: /livez answers from the agent's loops
// turning, whatever readiness says; it fails once they have been silent
// longer than the period, and recovers when they turn again.
func TestLivenessFollowsTheLoopsNotEtcd(t *testing.T) {
	o := New(prometheus.NewRegistry())
	clock := o.start
	o.now = func() time.Time { return clock }
	live := func() int {
		rec := httptest.NewRecorder()
		o.Livez(time.Minute).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/livez", nil))
		return rec.Code
	}
	if live() != http.StatusOK {
		t.Fatal("not live at start")
	}
	o.Observe(agent.Event{Kind: agent.Fenced, Err: errors.New("etcd unreachable")}) // unready...
	for range 10 {
		clock = clock.Add(50 * time.Second)
		o.Alive()
		if live() != http.StatusOK || o.Ready() == nil {
			t.Fatal("loops turning every 50s under a 1m period must be live, and unready after a fence")
		}
	}
	clock = clock.Add(61 * time.Second)
	if err := o.Live(time.Minute); live() != http.StatusServiceUnavailable || err == nil || !strings.Contains(err.Error(), "1m1s") {
		t.Fatalf("loops silent 61s under a 1m period: %v, want not live, saying for how long", err)
	}
	o.Alive()
	if live() != http.StatusOK {
		t.Fatal("not live again once the loops turned")
	}
}

// TestBuildInfo: the metric carries the build's version, revision (marked
// dirty for a modified tree) and Go version.
func TestBuildInfo(t *testing.T) {
	for _, tt := range []struct {
		in     buildinfo.Info
		labels string
	}{
		{buildinfo.Info{Version: "v1.2.0", Revision: "abc", Go: "go1.26.0"}, `go_version="go1.26.0",revision="abc",version="v1.2.0"`},
		{buildinfo.Info{Version: "(devel)", Revision: "abc", Modified: true, Go: "go1.26.0"}, `go_version="go1.26.0",revision="abc-dirty",version="(devel)"`},
		{buildinfo.Info{Version: "unknown", Modified: true}, fmt.Sprintf(`go_version=%q,revision="unknown",version="unknown"`, runtime.Version())},
	} {
		reg := prometheus.NewRegistry()
		reg.MustRegister(buildInfo(tt.in))
		want := "# HELP syncagent_build_info Always 1; the labels say which build runs.\n# TYPE syncagent_build_info gauge\nsyncagent_build_info{" + tt.labels + "} 1\n"
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
			t.Errorf("%+v: %v", tt.in, err)
		}
	}
	reg := prometheus.NewRegistry()
	New(reg)
	if n, err := testutil.GatherAndCount(reg, "syncagent_build_info"); n != 1 || err != nil {
		t.Errorf("New registers %d syncagent_build_info metrics (%v), want 1", n, err)
	}
}
