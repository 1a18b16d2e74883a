// Package metrics turns an agent's events into Prometheus metrics and a
// health answer for /healthz.
package metrics

import (
	"errors"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncsim/syncsim/agent"
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
	}
	reg.MustRegister(o.owned, o.leader, o.rebalances, o.moves, o.handover, o.fences, o.commits, o.invalid)
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

// Healthy returns nil while the agent holds a registration it trusts, or why not.
func (o *Observer) Healthy() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.health
}

// ServeHTTP answers /healthz: 200 "ok", or 503 with the reason.
func (o *Observer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if err := o.Healthy(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}
