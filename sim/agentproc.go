package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/sim/sink"
)

// This file is the world's side of an agent run as a command: each
// incarnation is an OS process (command.go) that reports its work to a
// sink server the run starts, and that faults reach through its proxied
// network and through signals.

// errProcessClock refuses a command on the simulated clock.
var errProcessClock = errors.New("an agent run as a process cannot live in the simulated clock's bubble " +
	"(its timers and sockets are the machine's): run it on the real clock")

// sinkSide is a run's sink: its server on a localhost listener, and which
// agents have reported to it.
type sinkSide struct {
	server *sink.Server
	http   *http.Server
	url    string

	mu       sync.Mutex
	reported map[string]bool                    // agents that sent the sink anything
	open     map[wire.Sender]map[int]sink.Event // each process's workers, started and not stopped
	leading  map[wire.Sender]bool               // processes that reported leading, and not losing it
}

// startSink serves a sink for the run on a real localhost port, recording
// every event it takes in rec with rec's clock.
func startSink(rec *recorder, fenced bool) (*sinkSide, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the sink: %w", err)
	}
	s := &sinkSide{url: "http://" + ln.Addr().String(), reported: map[string]bool{},
		open: map[wire.Sender]map[int]sink.Event{}, leading: map[wire.Sender]bool{}}
	s.server = sink.NewServer(func(e sink.Event) {
		s.note(e)
		rec.record(sinkEvent(e))
	}, func() time.Duration { return time.Duration(rec.now()) }, fenced)
	s.http = s.server.Serve(ln)
	return s, nil
}

// note keeps track of who reported, and of each process's open workers
// and leadership.
func (s *sinkSide) note(e sink.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reported[e.Agent] = true
	from := wire.Sender{Agent: e.Agent, Incarnation: e.Incarnation}
	switch e.Kind {
	case sink.Started:
		if s.open[from] == nil {
			s.open[from] = map[int]sink.Event{}
		}
		s.open[from][e.Worker] = e
	case sink.Stopped:
		delete(s.open[from], e.Worker)
	case sink.Leader:
		s.leading[from] = e.LeaderState != wire.Lost
	}
}

// died is what ends with a process that exited or was killed: its open
// workers and its leadership, which it cannot report ending. A dead
// process makes no effect any more; a late request already sent is still
// recorded as it arrives.
func (s *sinkSide) died(from wire.Sender) []model.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.Event
	for _, n := range slices.Sorted(maps.Keys(s.open[from])) {
		e := s.open[from][n]
		out = append(out, model.Event{Kind: model.WorkExit, Agent: e.Agent, Incarnation: e.Incarnation, Sync: e.Sync, Worker: e.Worker,
			Token: e.Token, Detail: "its process ended before it reported " + wire.PathStopped})
	}
	delete(s.open, from)
	if s.leading[from] {
		out = append(out, model.Event{Kind: model.LeaderLost, Agent: from.Agent, Incarnation: from.Incarnation,
			Detail: "its process ended while it led"})
	}
	delete(s.leading, from)
	return out
}

// silent lists those of agents that have sent the sink nothing.
func (s *sinkSide) silent(agents []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, a := range agents {
		if !s.reported[a] {
			out = append(out, a)
		}
	}
	return out
}

func (s *sinkSide) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s.http.Shutdown(ctx)
}

// startError is an incarnation that did not start, or exited at once.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// startCommand runs p's incarnation as an OS process on p's link, admitted
// by the sink first. A command that does not start, or exits at once, is a
// startError, which the caller records as skipped: the run proves nothing.
func (w *world) startCommand(p *proc) error {
	incarnation := w.lives[p.id]
	w.sink.server.Admit(p.id, incarnation)
	env := wire.Env{Endpoints: p.link.endpoints(), Prefix: w.opts.Prefix, Agent: p.id, Incarnation: incarnation,
		LeaseTTL: w.setup.LeaseTTL.Std(), Sink: w.sink.url}
	// Recorded before it starts: it may report to the sink at once,
	// within the start's watch for an early exit.
	w.rec.record(model.Event{Kind: model.AgentStart, Agent: p.id})
	ps, err := w.opts.Command.start(env, p.log)
	if err != nil {
		w.rec.record(model.Event{Kind: model.AgentExit, Agent: p.id, Detail: err.Error()})
		p.link.close()
		// Kept, ended, for its log: what it printed says why.
		p.stopping.Store(true)
		close(p.done)
		w.procs[p.id] = p
		return &startError{fmt.Errorf("%s (incarnation %d): %w", p.id, incarnation, err)}
	}
	p.os = ps
	w.procs[p.id] = p
	go func() {
		<-ps.exited()
		if !w.sink.server.Drain(wire.Sender{Agent: p.id, Incarnation: incarnation}, drainLimit) {
			fmt.Fprintf(p.log, "syncsim: the sink still had connections open %v after this process ended\n", drainLimit)
		}
		if !p.stopping.Load() {
			w.rec.record(model.Event{Kind: model.AgentExit, Agent: p.id, Detail: "the process exited: " + ps.exit()})
		}
		for _, e := range w.sink.died(wire.Sender{Agent: p.id, Incarnation: incarnation}) {
			w.rec.record(e)
		}
		close(p.done)
	}()
	return nil
}

// drainLimit bounds how long a process's end waits for the sink to hear
// what it sent before it ended (sink.Server.Drain): a killed process's
// connections close at once, so this is only reached when something that
// outlived it holds one open.
const drainLimit = time.Second

// killProcess is crash for a process: cut off, SIGKILL, then recorded once
// it is dead and the sink has heard what it sent before (an effect that
// arrives later is not the dead process's: P4 flags it).
func (w *world) killProcess(p *proc) {
	p.stopping.Store(true)
	p.dead.Store(true)
	p.link.isolate(nil)
	p.os.crash()
	<-p.done
	w.rec.record(model.Event{Kind: model.AgentCrash, Agent: p.id})
	p.link.close()
}

// stopProcess is stop for a process: SIGTERM, then SIGKILL after the
// grace, which the stop records.
func (w *world) stopProcess(p *proc) {
	select {
	case <-p.done:
		p.link.close()
		return
	default:
	}
	p.stopping.Store(true)
	p.os.stop()
	<-p.done
	stopped := model.Event{Kind: model.AgentStop, Agent: p.id}
	if p.os.killedAfterGrace() {
		stopped.Detail = fmt.Sprintf("killed after the grace: it ignored SIGTERM for %v", p.os.grace)
	}
	w.rec.record(stopped)
	p.link.close()
}

// noReports records, for a command whose agents were not all ready in
// time, each agent that never reported to the sink, and says whether
// none did (then the run has nothing to judge).
func (w *world) noReports(limit time.Duration) (none bool) {
	w.mu.Lock()
	agents := slices.Sorted(maps.Keys(w.procs))
	w.mu.Unlock()
	silent := w.sink.silent(agents)
	for _, id := range silent {
		w.rec.record(model.Event{Kind: model.Skipped, Agent: id, Detail: fmt.Sprintf(
			"%s (command %q) sent nothing to the sink within %v: the protocol expects a worker to report %s once it holds a sync, "+
				"at %s ($%s; docs/agent-protocol.md)", id, w.opts.Command.Line, limit, wire.PathStarted, w.sink.url, wire.EnvSink)})
	}
	return len(silent) == len(agents)
}
