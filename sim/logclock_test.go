package sim

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestHarnessTime: every agent log line carries the harness's seconds
// since the start, also through a logger derived with With.
func TestHarnessTime(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(harnessTime{slog.NewTextHandler(&out, nil), func() int64 { return 1_500_000_000 }})
	log.Info("leading", "term", 3)
	log.With("agent", "agent-1").Info("stopped")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out.String())
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "time=") || !strings.HasSuffix(line, " t=1.500") {
			t.Errorf("line %q lacks slog's time or t=1.500", line)
		}
	}
}
