// Package sink is the harness's end of the sink protocol
// (docs/agent-protocol.md): an http.Handler that records what agent
// processes report, with arrival times, and plays each sync's target
// system, refusing stale tokens when asked to.
package sink

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
)

// Kind names an event.
type Kind string

const (
	Started       Kind = "started"        // a worker began (Worker, Sync, Token, TokenKind, Position)
	Effect        Kind = "effect"         // a write reached the target (Accepted, or refused with Detail)
	Stopped       Kind = "stopped"        // a worker reported it makes no effect any more
	Leader        Kind = "leader"         // a step in an agent's leadership (LeaderState, Token = term)
	ProtocolError Kind = "protocol-error" // a request broke the protocol (Detail); the run proves nothing
)

// Event is one request as the sink took it.
type Event struct {
	Kind        Kind
	Time        time.Duration // arrival, on the server's clock
	Agent       string        // the sender, as the request named it
	Incarnation int
	Worker      int // the worker a started, effect or stopped belongs to
	Sync        string
	Token       int64
	TokenKind   wire.TokenKind
	Position    int64
	Checkpoint  bool
	Accepted    bool // an effect the target took
	LeaderState wire.LeaderState
	Detail      string // why an effect was refused, or how a request broke the protocol
}

// maxBody bounds a request body; every valid one is far smaller.
const maxBody = 1 << 16

// Server is the sink. Record receives every event, in the order the sink
// decided them, under the server's lock: it must not call the Server.
type Server struct {
	record func(Event)
	now    func() time.Duration
	fence  bool

	mu       sync.Mutex
	admitted map[wire.Sender]bool
	workers  map[workerKey]*worker // each sender's latest worker per sync
	leaders  map[wire.Sender]wire.LeaderState
	newest   map[string]int64          // per sync, the newest token the target accepted
	count    int                       // workers started so far
	conns    map[net.Conn]*wire.Sender // open connections, with the sender of their first request
	addr     net.Addr                  // where Serve listens
}

type workerKey struct {
	wire.Sender
	sync string
}

type worker struct {
	n     int
	token int64
	open  bool // started, not yet stopped
}

// NewServer records into record, stamping events with now (nil: time since
// the server was made). With fence, the target refuses an effect whose
// token is older than the newest it accepted on the sync, as a well-fenced
// target would.
func NewServer(record func(Event), now func() time.Duration, fence bool) *Server {
	if now == nil {
		t0 := time.Now()
		now = func() time.Duration { return time.Since(t0) }
	}
	return &Server{record: record, now: now, fence: fence, admitted: map[wire.Sender]bool{},
		workers: map[workerKey]*worker{}, leaders: map[wire.Sender]wire.LeaderState{}, newest: map[string]int64{},
		conns: map[net.Conn]*wire.Sender{}}
}

// Serve serves the sink on ln until Shutdown: it needs to see connections
// come and go, for Drain.
func (s *Server) Serve(ln net.Listener) *http.Server {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ConnState: s.connState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
	go srv.Serve(ln)
	return srv
}

type connKey struct{}

// acceptedAll returns once the server has accepted every connection made
// to it before the call: it connects itself and waits to see its own
// connection accepted, as the listener hands them out in order.
func (s *Server) acceptedAll(deadline time.Time) bool {
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	if addr == nil {
		return true // not serving: nothing to accept
	}
	probe, err := net.DialTimeout(addr.Network(), addr.String(), time.Until(deadline))
	if err != nil {
		return false
	}
	defer probe.Close()
	return poll(deadline, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			if c.RemoteAddr().String() == probe.LocalAddr().String() {
				return true
			}
		}
		return false
	})
}

// poll reports whether done came true before deadline, asking every
// millisecond.
func poll(deadline time.Time, done func() bool) bool {
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func (s *Server) connState(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = nil
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	}
}

// Drain waits, at most limit, until the sink has heard everything the
// process from, which has ended, sent before it ended: until every
// connection open now that is from's, or that has not yet carried a
// request and is not quiet, has closed. A process's requests can reach
// the sink after it died (they wait in the socket), so its end is
// recorded once drained, and an effect that arrives later was sent by
// something that outlived it. It reports whether it drained.
func (s *Server) Drain(from wire.Sender, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	if !s.acceptedAll(deadline) {
		return false
	}
	s.mu.Lock()
	var waiting []net.Conn
	for c, who := range s.conns {
		if who == nil || *who == from {
			waiting = append(waiting, c)
		}
	}
	s.mu.Unlock()
	return poll(deadline, func() bool {
		s.mu.Lock()
		waiting = slices.DeleteFunc(waiting, func(c net.Conn) bool {
			who, open := s.conns[c]
			return !open || (who != nil && *who != from)
		})
		var unheard []net.Conn // not yet carried a request
		for _, c := range waiting {
			if s.conns[c] == nil {
				unheard = append(unheard, c)
			}
		}
		s.mu.Unlock()
		// Peeked outside the lock: a peek must never hold up the server.
		for _, c := range unheard {
			if quiet(c) {
				waiting = slices.DeleteFunc(waiting, func(w net.Conn) bool { return w == c })
			}
		}
		return len(waiting) == 0
	})
}

// quiet reports whether c's peer is alive and has sent nothing unread:
// the connection a live client's pool holds unused. A dead process's
// connection is never quiet: the kernel closed it when the process
// died, and its end of file waits behind whatever it sent.
func quiet(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	idle := false
	// Control, not Read: the server's goroutine may be blocked reading
	// this connection, and Read would wait for it.
	raw.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		idle = errors.Is(err, syscall.EAGAIN)
	})
	return idle
}

// Admit lets agent's process incarnation report: the harness calls it
// before starting the process. Requests from any other sender are refused.
func (s *Server) Admit(agent string, incarnation int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admitted[wire.Sender{Agent: agent, Incarnation: incarnation}] = true
}

// refusal is a request the sink answers with an error status.
type refusal struct {
	status int
	reply  wire.Reply
}

func (r *refusal) Error() string { return r.reply.Error }

func badRequest(format string, args ...any) *refusal {
	return &refusal{status: http.StatusBadRequest, reply: wire.Reply{Error: fmt.Sprintf(format, args...)}}
}

// route handles one path: it decodes the body and decides, under the lock.
type route func(s *Server, dec *json.Decoder) (Event, wire.Reply, error)

var routes = map[string]route{
	wire.PathStarted: (*Server).started,
	wire.PathEffect:  (*Server).effect,
	wire.PathStopped: (*Server).stopped,
	wire.PathLeader:  (*Server).leader,
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	handle, known := routes[r.URL.Path]
	var body []byte
	var rerr error
	if known && r.Method == http.MethodPost {
		// Read before taking the lock: a sender that writes its body
		// slowly must not hold up every other sender's reports.
		body, rerr = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if errors.Is(rerr, io.ErrUnexpectedEOF) {
			// The body was cut short: its sender died or gave up
			// mid-request, and a target does not act on half a request.
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var (
		ev    Event
		reply wire.Reply
		err   error
	)
	switch {
	case !known:
		err = &refusal{status: http.StatusNotFound, reply: wire.Reply{Error: fmt.Sprintf("no such path %q; the sink serves %s, %s, %s and %s", r.URL.Path, wire.PathStarted, wire.PathEffect, wire.PathStopped, wire.PathLeader)}}
	case r.Method != http.MethodPost:
		err = &refusal{status: http.StatusMethodNotAllowed, reply: wire.Reply{Error: fmt.Sprintf("%s %s: the sink takes POST only", r.Method, r.URL.Path)}}
	case rerr != nil:
		err = badRequest("the body could not be read: %v", rerr)
	default:
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		ev, reply, err = handle(s, dec)
	}
	if c, ok := r.Context().Value(connKey{}).(net.Conn); ok && s.conns[c] == nil && ev.Agent != "" {
		s.conns[c] = &wire.Sender{Agent: ev.Agent, Incarnation: ev.Incarnation}
	}
	ev.Time = s.now()
	status := http.StatusOK
	if err != nil {
		var ref *refusal
		errors.As(err, &ref)
		status, reply = ref.status, ref.reply
		if status != http.StatusConflict {
			ev.Kind, ev.Detail = ProtocolError, fmt.Sprintf("%s: %s", r.URL.Path, ref.reply.Error)
		}
	}
	s.record(ev)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(reply)
}

// decode reads one JSON object into v and checks its sender.
func (s *Server) decode(dec *json.Decoder, v any, from *wire.Sender) error {
	if err := dec.Decode(v); err != nil {
		return badRequest("the body is not the expected JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("the body holds more than one JSON value")
	}
	if !s.admitted[*from] {
		return badRequest("unknown agent %q incarnation %d: the harness started no such process (send %s and %s as the environment gives them)",
			from.Agent, from.Incarnation, wire.EnvAgent, wire.EnvIncarnation)
	}
	return nil
}

func checkSync(sync string, token int64) error {
	if sync == "" {
		return badRequest("the sync is missing")
	}
	if token < 0 {
		return badRequest("token %d on %s is negative", token, sync)
	}
	return nil
}

func (s *Server) started(dec *json.Decoder) (Event, wire.Reply, error) {
	var r wire.Started
	err := s.decode(dec, &r, &r.Sender)
	ev := Event{Kind: Started, Agent: r.Agent, Incarnation: r.Incarnation, Sync: r.Sync, Token: r.Token, TokenKind: r.TokenKind, Position: r.Position}
	if err == nil {
		err = checkSync(r.Sync, r.Token)
	}
	if err == nil && r.TokenKind != "" && r.TokenKind != wire.Revision && r.TokenKind != wire.Epoch {
		err = badRequest("token_kind %q is neither %q nor %q", r.TokenKind, wire.Revision, wire.Epoch)
	}
	key := workerKey{r.Sender, r.Sync}
	if w := s.workers[key]; err == nil && w != nil && w.open {
		err = badRequest("started %s again while its worker %d (token %d) has not reported %s", r.Sync, w.n, w.token, wire.PathStopped)
	}
	if err != nil {
		return ev, wire.Reply{}, err
	}
	ev.TokenKind = cmp.Or(r.TokenKind, wire.Revision)
	s.count++
	s.workers[key] = &worker{n: s.count, token: r.Token, open: true}
	ev.Worker = s.count
	return ev, wire.Reply{Worker: s.count}, nil
}

// worker is the sender's worker on sync holding token: its latest, open or
// not, since a stopped worker's late effect is still an effect.
func (s *Server) worker(from wire.Sender, sync string, token int64) (*worker, error) {
	w := s.workers[workerKey{from, sync}]
	switch {
	case w == nil:
		return nil, badRequest("%s incarnation %d has not reported %s on %s", from.Agent, from.Incarnation, wire.PathStarted, sync)
	case w.token != token:
		return nil, badRequest("token %d on %s, but worker %d started with token %d; report %s first for a new token", token, sync, w.n, w.token, wire.PathStarted)
	}
	return w, nil
}

func (s *Server) effect(dec *json.Decoder) (Event, wire.Reply, error) {
	var r wire.Effect
	err := s.decode(dec, &r, &r.Sender)
	ev := Event{Kind: Effect, Agent: r.Agent, Incarnation: r.Incarnation, Sync: r.Sync, Token: r.Token, Position: r.Position, Checkpoint: r.Checkpoint}
	if err == nil {
		err = checkSync(r.Sync, r.Token)
	}
	var w *worker
	if err == nil {
		w, err = s.worker(r.Sender, r.Sync, r.Token)
	}
	if err != nil {
		return ev, wire.Reply{}, err
	}
	ev.Worker = w.n
	if newest, seen := s.newest[r.Sync]; s.fence && seen && r.Token < newest {
		ev.Detail = fmt.Sprintf("token %d is older than %d, the newest the target accepted on %s", r.Token, newest, r.Sync)
		return ev, wire.Reply{}, &refusal{status: http.StatusConflict, reply: wire.Reply{Error: ev.Detail, Newest: newest}}
	}
	ev.Accepted = true
	if newest, seen := s.newest[r.Sync]; !seen || r.Token > newest {
		s.newest[r.Sync] = r.Token
	}
	return ev, wire.Reply{}, nil
}

func (s *Server) stopped(dec *json.Decoder) (Event, wire.Reply, error) {
	var r wire.Stopped
	err := s.decode(dec, &r, &r.Sender)
	ev := Event{Kind: Stopped, Agent: r.Agent, Incarnation: r.Incarnation, Sync: r.Sync, Token: r.Token}
	if err == nil {
		err = checkSync(r.Sync, r.Token)
	}
	var w *worker
	if err == nil {
		w, err = s.worker(r.Sender, r.Sync, r.Token)
	}
	if err == nil && !w.open {
		err = badRequest("worker %d on %s already reported %s", w.n, r.Sync, wire.PathStopped)
	}
	if err != nil {
		return ev, wire.Reply{}, err
	}
	w.open = false
	ev.Worker = w.n
	return ev, wire.Reply{}, nil
}

// leaderSteps lists, for each state, the states an agent may report from:
// "" is not leading.
var leaderSteps = map[wire.LeaderState][]wire.LeaderState{
	wire.Won:          {""},
	wire.SteppingDown: {wire.Won},
	wire.Lost:         {wire.Won, wire.SteppingDown},
}

func (s *Server) leader(dec *json.Decoder) (Event, wire.Reply, error) {
	var r wire.Leader
	err := s.decode(dec, &r, &r.Sender)
	ev := Event{Kind: Leader, Agent: r.Agent, Incarnation: r.Incarnation, LeaderState: r.State, Token: r.Term}
	if err != nil {
		return ev, wire.Reply{}, err
	}
	from, valid := leaderSteps[r.State]
	if !valid {
		return ev, wire.Reply{}, badRequest("state %q is none of %q, %q, %q", r.State, wire.Won, wire.SteppingDown, wire.Lost)
	}
	now := s.leaders[r.Sender]
	if !slices.Contains(from, now) {
		return ev, wire.Reply{}, badRequest("%q while %s", r.State, describeLeader(now))
	}
	s.leaders[r.Sender] = r.State
	if r.State == wire.Lost {
		delete(s.leaders, r.Sender)
	}
	return ev, wire.Reply{}, nil
}

func describeLeader(state wire.LeaderState) string {
	if state == "" {
		return "not leading"
	}
	return fmt.Sprintf("its last report was %q", state)
}
