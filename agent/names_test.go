package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent"
)

// TestNamesFollowThePattern checks that AddSync and the agent's ID hold
// every client to layout.NamePattern, before anything reaches etcd (the
// client here is nil).
func TestNamesFollowThePattern(t *testing.T) {
	for _, bad := range []string{"", "a/b", "nl\nsync", "tab\tsync", "esc\x1b[31m", strings.Repeat("x", 10000)} {
		if err := agent.AddSync(context.Background(), nil, "/t/", bad, "{}"); err == nil || !strings.Contains(err.Error(), "sync name") {
			t.Errorf("AddSync(%.20q): %v, want an error about the sync name", bad, err)
		}
		if err := (agent.Config{ID: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "agent id") {
			t.Errorf("Config{ID: %.20q}.Validate(): %v, want an error about the agent id", bad, err)
		}
	}
	if err := (agent.Config{ID: "host-1.example.com", LeaseTTL: 2 * time.Second}).Validate(); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
	if err := (agent.Config{ID: "a", LeaseTTL: 3 * time.Second, SafetyMargin: 5 * time.Second}).Validate(); err == nil {
		t.Error("a safety margin above the lease TTL passed Validate")
	}
}
