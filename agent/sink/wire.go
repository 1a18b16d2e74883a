// Package sink is the wire format of the syncsim sink protocol, and a small
// client for it: how an agent run as a process by the harness reports its
// work. docs/agent-protocol.md describes the protocol; this package imports
// nothing but the standard library, so any Go agent can use it.
package sink

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The environment the harness gives every agent process.
const (
	EnvEndpoints   = "SYNCSIM_ETCD_ENDPOINTS" // comma-separated; the agent's own proxied endpoints, maybe unix://PATH
	EnvPrefix      = "SYNCSIM_PREFIX"         // the key prefix, ending in "/"
	EnvAgent       = "SYNCSIM_AGENT_ID"       // the agent's id
	EnvIncarnation = "SYNCSIM_INCARNATION"    // 1 for the agent's first process, 2 after a restart...
	EnvLeaseTTL    = "SYNCSIM_LEASE_TTL"      // lease TTL in whole seconds
	EnvSink        = "SYNCSIM_SINK"           // the sink's base URL, http://HOST:PORT
)

// The sink's request paths; every request is a POST of a JSON object.
const (
	PathStarted = "/v1/started"
	PathEffect  = "/v1/effect"
	PathStopped = "/v1/stopped"
	PathLeader  = "/v1/leader"
)

// Sender identifies the process a request comes from, as the environment
// named it; every request carries it.
type Sender struct {
	Agent       string `json:"agent"`
	Incarnation int    `json:"incarnation"`
}

// TokenKind is what a fencing token means, as the agent declares it.
type TokenKind string

const (
	Revision TokenKind = "revision" // an etcd create revision (the default)
	Epoch    TokenKind = "epoch"    // a counter the agent raises on each new holder
)

// Started reports that a worker began on a sync, holding Token, resuming
// from Position (0 when there is no checkpoint).
type Started struct {
	Sender
	Sync      string    `json:"sync"`
	Token     int64     `json:"token"`
	TokenKind TokenKind `json:"token_kind,omitempty"`
	Position  int64     `json:"position"`
}

// Effect is one write to the sync's target, made under Token up to
// Position. Checkpoint marks the write that records the position a next
// worker resumes from.
type Effect struct {
	Sender
	Sync       string `json:"sync"`
	Token      int64  `json:"token"`
	Position   int64  `json:"position"`
	Checkpoint bool   `json:"checkpoint,omitempty"`
}

// Stopped reports that the worker started with Token on Sync makes no
// effect any more.
type Stopped struct {
	Sender
	Sync  string `json:"sync"`
	Token int64  `json:"token"`
}

// LeaderState is a step in an agent's leadership.
type LeaderState string

const (
	Won          LeaderState = "won"           // it leads from now on
	SteppingDown LeaderState = "stepping-down" // it began to resign: it may still act as leader
	Lost         LeaderState = "lost"          // it leads no more
)

// Leader reports a change in the agent's leadership, under Term (its
// token as leader; 0 when it has none).
type Leader struct {
	Sender
	State LeaderState `json:"state"`
	Term  int64       `json:"term,omitempty"`
}

// Reply is the body of every answer. Worker numbers the worker a started
// request began; Error says why a request was refused, and Newest is the
// newest token the target accepted on the sync when it refused an older one.
type Reply struct {
	Worker int    `json:"worker,omitempty"`
	Error  string `json:"error,omitempty"`
	Newest int64  `json:"newest,omitempty"`
}

// Env is what the harness tells an agent process through its environment.
type Env struct {
	Endpoints   []string
	Prefix      string
	Agent       string
	Incarnation int
	LeaseTTL    time.Duration // whole seconds
	Sink        string
}

// Environ is env as NAME=value pairs, for exec.Cmd.Env.
func (e Env) Environ() []string {
	return []string{
		EnvEndpoints + "=" + strings.Join(e.Endpoints, ","),
		EnvPrefix + "=" + e.Prefix,
		EnvAgent + "=" + e.Agent,
		EnvIncarnation + "=" + strconv.Itoa(e.Incarnation),
		EnvLeaseTTL + "=" + strconv.Itoa(int(e.LeaseTTL/time.Second)),
		EnvSink + "=" + e.Sink,
	}
}

// EnvFrom reads an Env through getenv (os.Getenv in an agent). It names
// every variable that is missing or malformed.
func EnvFrom(getenv func(string) string) (Env, error) {
	var problems []string
	need := func(name string) string {
		v := getenv(name)
		if v == "" {
			problems = append(problems, name+" is not set")
		}
		return v
	}
	positive := func(name string) int {
		s := need(name)
		n, err := strconv.Atoi(s)
		if s != "" && (err != nil || n < 1) {
			problems = append(problems, fmt.Sprintf("%s=%q is not a positive integer", name, s))
		}
		return n
	}
	e := Env{
		Prefix:      need(EnvPrefix),
		Agent:       need(EnvAgent),
		Incarnation: positive(EnvIncarnation),
		LeaseTTL:    time.Duration(positive(EnvLeaseTTL)) * time.Second,
		Sink:        need(EnvSink),
	}
	if eps := need(EnvEndpoints); eps != "" {
		e.Endpoints = strings.Split(eps, ",")
	}
	if len(problems) > 0 {
		return e, errors.New("syncsim environment: " + strings.Join(problems, "; "))
	}
	return e, nil
}
