package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/sink"
)

// syncers are the values of run --syncer.
var syncers = []string{"demo", "sink"}

// fromSink sets run's flags from the syncsim harness's environment
// (docs/agent-protocol.md), for --syncer sink: every flag the command line
// did not give among --endpoints, --prefix, --id and --lease-ttl, and
// --metrics-addr to none, since a harness runs many agents on one host. It
// returns the client that reports to the harness's sink.
func fromSink(fs *flag.FlagSet, getenv func(string) string) (*sink.Client, error) {
	env, err := sink.EnvFrom(getenv)
	if err != nil {
		return nil, fmt.Errorf("--syncer sink runs under the syncsim harness: %w", err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	values := map[string]string{
		"endpoints":    getenv(sink.EnvEndpoints),
		"prefix":       env.Prefix,
		"id":           env.Agent,
		"lease-ttl":    env.LeaseTTL.String(),
		"metrics-addr": "",
	}
	for name, v := range values {
		if !given[name] {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("--%s from the harness's environment: %w", name, err)
			}
		}
	}
	return sink.NewClient(env, sink.Revision), nil
}

// leaderReports tells the sink of the agent's leadership, in order and off
// the agent's hot paths (an Observer must not block), so that a scenario
// can target the leader of the reference agent run as a process.
type leaderReports struct {
	next   agent.Observer
	client *sink.Client
	queue  chan sink.Leader
	done   chan struct{}
}

// leaderQueue is more reports than a run's leadership changes.
const leaderQueue = 256

func reportLeadership(client *sink.Client, next agent.Observer) *leaderReports {
	l := &leaderReports{next: next, client: client, queue: make(chan sink.Leader, leaderQueue), done: make(chan struct{})}
	go l.send()
	return l
}

var leaderStates = map[agent.EventKind]sink.LeaderState{agent.LeaderWon: sink.Won, agent.LeaderLost: sink.Lost}

func (l *leaderReports) Observe(e agent.Event) {
	l.next.Observe(e)
	if state, ok := leaderStates[e.Kind]; ok {
		select {
		case l.queue <- sink.Leader{State: state, Term: e.Token}:
		default: // the sink is stuck; the harness ends a dead process's leadership itself
		}
	}
}

func (l *leaderReports) send() {
	defer close(l.done)
	for r := range l.queue {
		ctx, cancel := context.WithTimeout(context.Background(), stopReportLimit)
		l.client.Leader(ctx, r)
		cancel()
	}
}

// close sends what is queued, waiting at most limit.
func (l *leaderReports) close(limit time.Duration) {
	close(l.queue)
	select {
	case <-l.done:
	case <-time.After(limit):
	}
}

// stopReportLimit bounds one report to the sink.
const stopReportLimit = 500 * time.Millisecond
