package reports

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/model/modeltest"
)

var update = flag.Bool("update", false, "rewrite the expected outputs under testdata")

// threeOwners is a run in which three agents worked on sync-1 at once.
func threeOwners() Run {
	h := model.History{Version: model.HistoryVersion, Events: []model.Event{
		{Time: 1e8, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 5e8, Kind: model.FaultStart, Fault: "isolate", Target: "agent-1", Detail: "step 1: isolate owner of sync-1 for 3s"},
		{Time: 2e9, Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 2.5e9, Kind: model.WorkStart, Agent: "agent-3", Sync: "sync-1", Worker: 3},
		{Time: 3e9, Kind: model.WorkExit, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 3.5e9, Kind: model.FaultEnd, Fault: "isolate", Target: "agent-1"},
		{Time: 4e9, Kind: model.WorkExit, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 5e9, Kind: model.WorkExit, Agent: "agent-3", Sync: "sync-1", Worker: 3},
		{Time: 5.5e9, Kind: model.NotApplied, Fault: "stop", Target: "owner of sync-2", Detail: "step 2 (stop owner of sync-2): no running agent works on sync-2"},
	}}
	opts := model.Options{Expect: []model.Property{model.ExclusiveWork}, LeaseTTL: 2 * time.Second}
	return Run{Name: "three-owners", Scenario: []byte(`{"name":"three-owners","expect":["P1"],"lease_ttl":"2s"}` + "\n"), History: h,
		Verdict: model.Check(h, opts), Options: opts, Logs: map[string][]byte{"agent-1": []byte("log\n")}, Duration: 5 * time.Second, Seed: 7}
}

// TestSummaryMarkdown pins summary.md: the first failure, every violation
// numbered, and exactly the files written.
func TestSummaryMarkdown(t *testing.T) {
	root := t.TempDir()
	dir, err := Write(root, threeOwners())
	if err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	modeltest.Golden(t, "testdata/summary.md", string(md), *update)
	svg, _ := os.ReadFile(filepath.Join(dir, "timeline.svg"))
	if n := strings.Count(string(svg), `class="violation"`); n != 3 {
		t.Errorf("the timeline marks %d violations, want the 3 summary.md lists", n)
	}
	index, _ := os.ReadFile(filepath.Join(root, "index.html"))
	if n := strings.Count(string(index), "<li>P1: "); n != 3 {
		t.Errorf("the index lists %d violations of the run, want 3", n)
	}
}

// TestFilesListedAreTheFilesWritten: summary.json and summary.md list
// exactly the files in the directory, timeline-full.svg included when the
// timeline is cut.
func TestFilesListedAreTheFilesWritten(t *testing.T) {
	run := threeOwners()
	for i := range maxRows + 1 { // more rows than a timeline draws whole
		run.History.Events = append(run.History.Events, model.Event{Time: 6e9, Kind: model.WorkStart, Agent: "agent-9", Sync: fmt.Sprintf("sync-x%d", i), Worker: 100 + i})
	}
	dir, err := Write(t.TempDir(), run)
	if err != nil {
		t.Fatal(err)
	}
	var written []string // every file but the logs, by its path in the directory
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() && rel == "logs" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			written = append(written, filepath.ToSlash(rel))
		}
		return err
	})
	sum, err := readSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sum.Files, written) || !slices.Contains(written, "timeline-full.svg") {
		t.Errorf("summary.json lists %v; the directory holds %v (timeline-full.svg among them)", sum.Files, written)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "summary.md"))
	for _, f := range append(written, "logs/agent-1.log") {
		if !strings.Contains(string(md), "`"+f+"`") {
			t.Errorf("summary.md does not list %s", f)
		}
	}
}

// TestSameNameSameMillisecond: two reports finishing under one name get
// two directories, neither lost.
func TestSameNameSameMillisecond(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "20260101-000000.000-demo")
	var wg sync.WaitGroup
	finals := make([]string, 8)
	errs := make([]error, len(finals))
	for i := range finals {
		tmp, err := os.MkdirTemp(root, ".partial-")
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(tmp, "summary.json"), []byte(fmt.Sprint(i)), 0o644)
		wg.Go(func() { finals[i], errs[i] = moveIntoPlace(tmp, name) })
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, f := range finals {
		if errs[i] != nil {
			t.Fatalf("writer %d: %v", i, errs[i])
		}
		data, _ := os.ReadFile(filepath.Join(f, "summary.json"))
		if seen[f] || string(data) != fmt.Sprint(i) {
			t.Errorf("writer %d landed in %s, which holds %q", i, f, data)
		}
		seen[f] = true
	}
	if !seen[name] || !seen[name+"-2"] || !seen[name+"-8"] {
		t.Errorf("want %s, then -2 .. -8; got %v", filepath.Base(name), finals)
	}
}

// TestRecheckUsesTheSummary: a report is re-checked against what its
// summary says it was checked against; an older report's scenario.json is
// read instead, and a bad lease TTL there is an error naming it.
func TestRecheckUsesTheSummary(t *testing.T) {
	run := threeOwners()
	run.Options.Expect = []model.Property{} // P1 fails, but is not counted
	run.Verdict = model.Check(run.History, run.Options)
	dir, err := Write(t.TempDir(), run)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := Recheck(dir); err != nil || v.Status != model.Pass || v.Results[0].Status != model.Fail {
		t.Fatalf("re-checked against the summary, want P1 failing but not counted: %v, %v", v, err)
	}
	// An older report: no "checked" in its summary, so its scenario counts.
	doctor(t, filepath.Join(dir, "summary.json"), func(m map[string]any) { delete(m, "checked") })
	if v, err := Recheck(dir); err != nil || v.Status != model.Fail {
		t.Fatalf("re-checked against scenario.json (expect P1), want fail: %v, %v", v, err)
	}
	os.WriteFile(filepath.Join(dir, "scenario.json"), []byte(`{"expect":["P1"],"lease_ttl":"2 seconds"}`), 0o644)
	_, err = Recheck(dir)
	if err == nil || !strings.Contains(err.Error(), "scenario.json") || !strings.Contains(err.Error(), "lease_ttl") {
		t.Fatalf("a bad lease_ttl must be an error naming the file and the field, got %v", err)
	}
}
