package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/sink"
)

type countingObserver struct{ n int }

func (c *countingObserver) Observe(agent.Event) { c.n++ }

// TestLeadershipReachesTheSink: with --syncer sink the reference agent
// reports winning and losing leadership to the sink, in order, and still
// hands every event to its own observer.
func TestLeadershipReachesTheSink(t *testing.T) {
	var mu sync.Mutex
	var got []sink.Leader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var l sink.Leader
		if r.URL.Path != sink.PathLeader || json.NewDecoder(r.Body).Decode(&l) != nil {
			http.Error(w, `{"error":"bad"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, l)
		mu.Unlock()
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	next := &countingObserver{}
	l := reportLeadership(&sink.Client{URL: srv.URL, Sender: sink.Sender{Agent: "agent-1", Incarnation: 2}}, next)
	for _, e := range []agent.Event{{Kind: agent.LeaderWon, Token: 7}, {Kind: agent.ClaimStart}, {Kind: agent.LeaderLost, Token: 7}, {Kind: agent.LeaderWon, Token: 9}} {
		l.Observe(e)
	}
	l.close(5 * time.Second)
	from := sink.Sender{Agent: "agent-1", Incarnation: 2}
	want := []sink.Leader{{Sender: from, State: sink.Won, Term: 7}, {Sender: from, State: sink.Lost, Term: 7}, {Sender: from, State: sink.Won, Term: 9}}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("the sink heard %+v; want %+v", got, want)
	}
	if next.n != 4 {
		t.Errorf("the agent's own observer saw %d events, want 4", next.n)
	}
}
