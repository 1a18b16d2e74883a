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
	for _, f := range []string{"scenario.json", "history.json", "summary.json", "summary.md", "linearizability.html", "effects.html", "timeline.svg", "logs/agent-1.log"} {
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
	svg, _ := os.ReadFile(filepath.Join(dir, "timeline.svg"))
	if !strings.Contains(string(svg), `id="violation-1"`) || !strings.Contains(string(svg), "isolate agent-1") {
		t.Error("the timeline lacks the violation or the fault")
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 3 || names[0] != filepath.Base(dir) || names[1] != "index.html" || names[2] != "latest" {
		t.Errorf("want only the finished report, the index and the latest link under %s, found %v", root, names)
	}
	if target, err := os.Readlink(filepath.Join(root, "latest")); err != nil || target != filepath.Base(dir) {
		t.Errorf("latest links to %q (%v), want the report just written", target, err)
	}
	index, _ := os.ReadFile(filepath.Join(root, "index.html"))
	if !strings.Contains(string(index), filepath.Base(dir)+"/timeline.svg") || !strings.Contains(string(index), "FAIL") {
		t.Errorf("the index does not list the run:\n%s", index)
	}
}

// TestIndexPutsFailuresFirst: runs are listed failures first, then
// undecided, then passes, newest first within each; a directory without a
// summary is left out.
func TestIndexPutsFailuresFirst(t *testing.T) {
	root := t.TempDir()
	write := func(dir, status string, finished string) {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		os.WriteFile(filepath.Join(root, dir, "summary.json"), []byte(`{"format":1,"name":"`+dir+`","status":"`+status+`","finished":"`+finished+`"}`), 0o644)
	}
	write("old-pass", "pass", "2026-01-01T00:00:00Z")
	write("new-pass", "pass", "2026-01-02T00:00:00Z")
	write("a-fail", "fail", "2026-01-01T00:00:00Z")
	write("undecided", "unknown", "2026-01-01T00:00:00Z")
	os.MkdirAll(filepath.Join(root, "half-written"), 0o755)
	write(".partial-123", "fail", "2026-01-03T00:00:00Z") // interrupted after its summary
	path, err := Index(root)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(path)
	order := []string{"a-fail", "undecided", "new-pass", "old-pass"}
	last := -1
	for _, name := range order {
		i := strings.Index(string(page), ">"+name+"<")
		if i < 0 {
			t.Errorf("%s is not listed", name)
		} else if i < last {
			t.Errorf("%s is out of order (want %v)", name, order)
		}
		last = i
	}
	if strings.Contains(string(page), "half-written") || strings.Contains(string(page), "partial") {
		t.Error("a directory without a summary, or a report not yet renamed into place, is listed")
	}
}

// TestOwnershipGaps: a change whose old owner confirmed its release is a
// handover, one whose old owner never did is a failover; the gap runs from
// the old worker's return to the new one's start, 0 where they overlapped.
func TestOwnershipGaps(t *testing.T) {
	ms := int64(1e6)
	intervals := []model.Interval{
		{Agent: "a", Sync: "s1", Start: 0, Stop: 100 * ms, Released: 110 * ms},
		{Agent: "b", Sync: "s1", Start: 150 * ms, Stop: 900 * ms, Released: model.Never},
		{Agent: "c", Sync: "s1", Start: 2300 * ms, Stop: model.Never, Released: model.Never},
		{Agent: "a", Sync: "s2", Start: 0, Stop: 500 * ms, Released: 510 * ms},
		{Agent: "b", Sync: "s2", Start: 400 * ms, Stop: model.Never, Released: model.Never},
	}
	handover, failover := ownershipGaps(intervals)
	if want := (Latency{Count: 2, MedianMS: 50, MaxMS: 50}); handover != want {
		t.Errorf("handover %+v, want %+v (50 ms and an overlap counted as 0)", handover, want)
	}
	if want := (Latency{Count: 1, MedianMS: 1400, MaxMS: 1400}); failover != want {
		t.Errorf("failover %+v, want %+v", failover, want)
	}
}
