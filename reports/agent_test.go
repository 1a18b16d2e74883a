package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"

	"github.com/syncsim/syncsim/model"
)

// TestClippedWithoutOperations: a picture with no operations has no span
// (from Never to 0); drawing it once counted ticks from an overflowed
// Never, for ever.
func TestClippedWithoutOperations(t *testing.T) {
	all := []porcupine.Annotation{{Start: 1, End: 2}}
	if got := clipped(all, model.Never, 0); len(got) != 0 {
		t.Fatalf("clipped to an empty span: %d annotations, want none", len(got))
	}
}

// TestCommandUnchanged: a command's binary that changed or is gone
// cannot be replayed, and the error says which.
func TestCommandUnchanged(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "agent")
	os.WriteFile(bin, []byte("v1"), 0o755)
	c, err := NewCommand("agent --x", bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unchanged(); err != nil {
		t.Fatalf("the same binary: %v", err)
	}
	os.WriteFile(bin, []byte("v2"), 0o755)
	if err := c.Unchanged(); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("a changed binary: %v", err)
	}
	os.Remove(bin)
	if err := c.Unchanged(); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("a removed binary: %v", err)
	}
	if s := (Agent{Name: "command agent --x", Command: c}).String(); !strings.Contains(s, c.SHA256[:12]) {
		t.Errorf("the index names it %q, without its hash", s)
	}
}
