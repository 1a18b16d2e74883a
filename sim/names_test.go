package sim

import (
	"math"
	"testing"

	"github.com/syncsim/syncsim/agent/layout"
)

// TestHarnessNamesAreValid checks that the names the harness gives agents
// and syncs pass the pattern the agent holds every client to.
func TestHarnessNamesAreValid(t *testing.T) {
	for _, n := range []int{1, 100, 100000, math.MaxInt} {
		if err := layout.ValidName("agent id", AgentName(n)); err != nil {
			t.Error(err)
		}
		if err := layout.ValidName("sync name", SyncName(n)); err != nil {
			t.Error(err)
		}
	}
}
