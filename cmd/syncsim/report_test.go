package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/reports/junit"
)

// shard writes a shard's reports directory as explore --junit leaves it:
// a junit.xml of every run, and a report for the failed ones.
func shard(t *testing.T, name string, passed int, failed bool) string {
	t.Helper()
	dir := t.TempDir()
	j := &junit.Report{}
	s := j.Suite("syncsim explore " + name)
	for i := range passed {
		s.Add(junit.Checked(name+"-pass-"+string(rune('a'+i)), model.Verdict{Status: model.Pass}, 2, ""))
	}
	if failed {
		h := model.History{Version: model.HistoryVersion, Events: []model.Event{
			{Time: 1e6, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-1", Worker: 1},
			{Time: 2e6, Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 2},
			{Time: 3e6, Kind: model.WorkExit, Agent: "agent-1", Sync: "sync-1", Worker: 1},
			{Time: 4e6, Kind: model.WorkExit, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		}}
		opts := model.Options{Expect: []model.Property{model.ExclusiveWork}}
		v := model.Check(h, opts)
		report, err := reports.Write(dir, reports.Run{Name: name + "-fail", Scenario: []byte("{}\n"), History: h, Verdict: v, Options: opts, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		s.Add(junit.Checked(name+"-fail", v, 1, report))
	}
	if err := junit.Write(filepath.Join(dir, reports.JUnitFile), j); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReportMerge: report --merge of two shards prints their summed
// totals, exits 1 for the violation among them, and leaves one index and
// one junit.xml of every run.
func TestReportMerge(t *testing.T) {
	into := filepath.Join(t.TempDir(), "merged")
	code, stdout, stderr := syncsim("report", "--merge", "--out", into, shard(t, "s1", 2, true), shard(t, "s2", 3, false))
	if code != exitViolation || !strings.Contains(stdout, "merged 2 shards: 6 runs, 5 passed, 1 failed, 0 undecided or errors") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and the totals of both shards", code, stdout, stderr)
	}
	j, err := junit.Read(filepath.Join(into, reports.JUnitFile))
	if err != nil || j.Tests != 6 || j.Failures != 1 {
		t.Fatalf("merged junit.xml: %+v, %v; want 6 cases, 1 failure", j, err)
	}
	index, err := os.ReadFile(filepath.Join(into, "index.html"))
	if err != nil || !strings.Contains(string(index), "s1-fail") {
		t.Errorf("the merged index does not list the failed run: %v", err)
	}
	code, stdout, _ = syncsim("report", "--keep", "0", into)
	if code != exitPass || !strings.Contains(stdout, "removed 0 passing runs") {
		t.Errorf("report --keep 0: exit %d, %q", code, stdout)
	}
	for _, args := range [][]string{{"report", "--merge"}, {"report", "--keep", "-2", into}, {"report", "--merge", "--keep", "1", into}} {
		if code, _, stderr := syncsim(args...); code != exitUsage || !strings.Contains(stderr, "usage: syncsim report") {
			t.Errorf("syncsim %v: exit %d, %q; want the usage and exit 2", args, code, stderr)
		}
	}
}
