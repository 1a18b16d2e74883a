package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
)

func TestWriteLeavesACompleteDirectory(t *testing.T) {
	h := model.History{Version: model.HistoryVersion, Events: []model.Event{
		{Time: 1e6, Kind: model.FaultStart, Fault: "isolate", Target: "agent-1"},
		{Time: 2e6, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 3e6, Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 4e6, Kind: model.FaultEnd, Fault: "isolate", Target: "agent-1"},
	}}
	v := model.Check(h, model.Options{})
	root := t.TempDir()
	dir, err := Write(root, Run{Name: "demo", Scenario: []byte("{}\n"), History: h, Verdict: v, Logs: map[string][]byte{"agent-1": []byte("hello\n")}, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"scenario.json", "history.json", "summary.json", "summary.md", "linearizability.html", "logs/agent-1.log"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	if !strings.Contains(string(md), "# demo: FAIL") || !strings.Contains(string(md), "agent-2 started sync-1 at 0.003 s") {
		t.Errorf("summary.md does not lead with the violation:\n%s", md)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "linearizability.html"))
	if !strings.Contains(string(html), "isolate agent-1") {
		t.Error("the visualization lacks the fault annotation")
	}
	if _, err := model.ReadHistory(filepath.Join(dir, "history.json")); err != nil {
		t.Errorf("history.json does not read back: %v", err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("want only the finished report under %s, found %d entries", root, len(entries))
	}
}
