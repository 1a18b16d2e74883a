// Package metrics turns an agent's events into Prometheus metrics, and
// answers its readiness (/readyz) and liveness (/livez) probes.
package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/internal/buildinfo"
)

// Observer is an agent.Observer that keeps the agent's metrics.
type Observer struct {
	owned      prometheus.Gauge
	leader     prometheus.Gauge
	rebalances prometheus.Counter
	moves      prometheus.Counter
	handover   prometheus.Histogram
	fences     prometheus.Counter
	commits    *prometheus.CounterVec
	invalid    prometheus.Counter

	mu     sync.Mutex
	health error

	// start and beat are when the observer was made and how long after
	// that the agent's loops last turned (monotonic clock).
	start time.Time
	beat  atomic.Int64
	now   func() time.Time // time.Now, or a test's clock
}

// New registers the agent's metrics with reg.
func New(reg prometheus.Registerer) *Observer {
	o := &Observer{
		owned:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncagent_owned_syncs", Help: "Syncs this agent holds a claim on."}),
		leader:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "syncagent_is_leader", Help: "1 while this agent is the confirmed leader."}),
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncagent_rebalances_total", Help: "Rebalances this agent wrote as leader."}),
		moves:      prometheus.NewCounter(prometheus.CounterOpts{Name: "syncagent_assignment_moves_total", Help: "Assignment changes written as leader."}),
		handover: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "syncagent_handover_seconds", Help: "From a worker's first claim attempt to holding the claim.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		fences:  prometheus.NewCounter(prometheus.CounterOpts{Name: "syncagent_self_fences_total", Help: "Times the agent stopped trusting its lease and stopped all work."}),
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "syncagent_checkpoint_commits_total", Help: "Checkpoint commits by result: ok, rejected (fenced) or unknown."}, []string{"result"}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{Name: "syncagent_invalid_sync_definitions_total", Help: "Sync definitions skipped because they are not JSON objects."}),
		health:  errors.New("not registered in etcd yet"),
		now:     time.Now,
	}
	o.start = o.now()
	reg.MustRegister(o.owned, o.leader, o.rebalances, o.moves, o.handover, o.fences, o.commits, o.invalid, buildInfo(buildinfo.Read()))
	for _, r := range []string{"ok", "rejected", "unknown"} {
		o.commits.WithLabelValues(r)
	}
	return o
}

// Observe implements agent.Observer.
func (o *Observer) Observe(e agent.Event) {
	switch e.Kind {
	case agent.Registered:
		o.setHealth(nil)
	case agent.Fenced:
		o.fences.Inc()
		o.setHealth(e.Err)
	case agent.ClaimDone:
		if e.Err == nil {
			o.owned.Inc()
			o.handover.Observe(e.Elapsed.Seconds())
		}
	case agent.ReleaseStart:
		o.owned.Dec()
	case agent.LeaderWon:
		o.leader.Set(1)
	case agent.LeaderLost:
		o.leader.Set(0)
	case agent.Rebalanced:
		o.rebalances.Inc()
		o.moves.Add(float64(e.Moves))
	case agent.Committed:
		result := "unknown"
		switch {
		case e.Err == nil:
			result = "ok"
		case errors.Is(e.Err, agent.ErrFenced), errors.Is(e.Err, agent.ErrNotStored):
			result = "rejected"
		}
		o.commits.WithLabelValues(result).Inc()
	case agent.InvalidSync:
		o.invalid.Inc()
	}
}

func (o *Observer) setHealth(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.health = err
}

// Ready returns nil while the agent holds a registration it trusts, or why not.
func (o *Observer) Ready() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.health
}

// Alive records that the agent's loops turned; it is agent.Config.Alive.
func (o *Observer) Alive() {
	o.beat.Store(int64(o.now().Sub(o.start)))
}

// Live returns nil while the agent's loops turned within the last period
// (counted from the observer's making until they first turn), or why not.
// It does not depend on etcd: an outage makes the agent unready, not dead.
func (o *Observer) Live(period time.Duration) error {
	silent := o.now().Sub(o.start) - time.Duration(o.beat.Load())
	if silent > period {
		return fmt.Errorf("the agent's loops have not turned for %v (limit %v)", silent.Round(time.Millisecond), period)
	}
	return nil
}

// Readyz answers a readiness probe: 200 "ok" while Ready, else 503 with the reason.
func (o *Observer) Readyz() http.Handler { return probe(o.Ready) }

// Livez answers a liveness probe: 200 "ok" while Live(period), else 503 with the reason.
func (o *Observer) Livez(period time.Duration) http.Handler {
	return probe(func() error { return o.Live(period) })
}

type probe func() error

func (check probe) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if err := check(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// buildInfo is the constant syncagent_build_info metric, whose labels say
// what binary runs: the module version, the VCS revision ("-dirty" when
// built from a modified tree) and the Go version.
func buildInfo(in buildinfo.Info) prometheus.Collector {
	revision := cmp.Or(in.Revision, "unknown")
	if in.Revision != "" && in.Modified {
		revision += "-dirty"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "syncagent_build_info", Help: "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": in.Version, "revision": revision, "go_version": cmp.Or(in.Go, runtime.Version())},
	})
	g.Set(1)
	return g
}
