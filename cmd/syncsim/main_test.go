package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/scenarios"
)

func syncsim(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes data to name under dir, making the directories name
// holds, and returns its path: a test whose input was never written would
// see a missing file instead of the input it is about.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// scenarioFile writes the catalogue's owner-crash to dir and returns its path.
func scenarioFile(t *testing.T, dir string) string {
	t.Helper()
	sc, err := scenarios.Find("owner-crash")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "owner-crash.json", sc.Encode())
}

func TestBadUsageExitsTwo(t *testing.T) {
	dir := t.TempDir()
	corrupt := writeFile(t, dir, "history.json", []byte(`{"version":1,"events":[{"t":`))
	newer := writeFile(t, dir, "newer.json", []byte(`{"version":99,"events":[]}`))
	newerReport := filepath.Dir(writeFile(t, dir, "newer-report/summary.json", []byte(`{"format":99}`)))
	truncated := writeFile(t, dir, "truncated.json", []byte(`{"version":1,"events":[{"t":1,"kind":"work-start"},`))
	scenarioFile := scenarioFile(t, dir)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: syncsim"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run"}, "usage: syncsim run"},
		{[]string{"run", "--bogus", "all"}, "flag provided but not defined: -bogus"},
		{[]string{"run", "no-such-scenario"}, `no scenario named "no-such-scenario"; the catalogue has: `},
		{[]string{"run", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"check", filepath.Join(dir, "nowhere")}, "does not exist; give a report directory or its history.json"},
		{[]string{"check", corrupt}, "is not a history file"},
		{[]string{"check", newer}, "has history format version 99; this syncsim reads versions 1 to 1"},
		{[]string{"replay"}, "usage: syncsim replay"},
		{[]string{"replay", filepath.Join(dir, "nowhere")}, "give a report directory or a scenario file"},
		{[]string{"replay", "--attempts", "0", corrupt}, "usage: syncsim replay"},
		{[]string{"replay", corrupt}, "line 1"},
		{[]string{"replay", "--mutant", "no-such-bug", scenarioFile}, `no mutant named "no-such-bug"; the planted bugs are: `},
		{[]string{"explore", "--shard", "0/2"}, "--shard \"0/2\" must be i/n with 1 <= i <= n"},
		{[]string{"explore", "--shard", "3/2"}, "must be i/n"},
		{[]string{"explore", "--shard", "1/2x"}, "must be i/n"},
		{[]string{"explore", "--members", "9"}, "members is 9; it must be 1 to 7"},
		{[]string{"explore", "--agents", "0"}, "agents is 0"},
		{[]string{"explore", "--parallel", "0"}, "usage: syncsim explore"},
		{[]string{"explore", "extra"}, "usage: syncsim explore"},
		{[]string{"explore", "--duration", "soon"}, "invalid value \"soon\" for flag -duration"},
		{[]string{"explore", "--mutant", "no-such-bug"}, `no mutant named "no-such-bug"`},
		{[]string{"run", "--mutant", "no-such-bug", "all"}, `no mutant named "no-such-bug"`},
		{[]string{"report", filepath.Join(dir, "nowhere")}, "is not a reports directory"},
		{[]string{"report", "a", "b"}, "usage: syncsim report"},
		{[]string{"mutants", "no-such-bug"}, `no mutant named "no-such-bug"; the planted bugs are: `},
		{[]string{"check", newerReport}, "has report format 99; this syncsim reads formats up to 1"},
		{[]string{"replay", newerReport}, "has report format 99"},
		{[]string{"check", truncated}, "is not a history file"},
	}
	for _, tt := range tests {
		code, _, stderr := syncsim(tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("syncsim %v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestCheckReproducesAStoredVerdict: a stored failing history re-checked
// offline fails with the same explanation.
func TestCheckReproducesAStoredVerdict(t *testing.T) {
	h := model.History{Version: model.HistoryVersion, Events: []model.Event{
		{Time: 1e6, Kind: model.WorkStart, Agent: "agent-1", Sync: "sync-1", Worker: 1},
		{Time: 2e6, Kind: model.WorkStart, Agent: "agent-2", Sync: "sync-1", Worker: 2},
		{Time: 3e6, Kind: model.WorkExit, Agent: "agent-1", Sync: "sync-1", Worker: 1},
	}}
	dir := t.TempDir()
	data, _ := json.Marshal(h)
	writeFile(t, dir, "history.json", data)
	sc, err := scenarios.Find("owner-crash")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "scenario.json", sc.Encode())

	code, stdout, _ := syncsim("check", dir)
	want := model.Check(h, model.Options{Expect: sc.Expect}).Results[0].Summary
	if code != exitViolation || !strings.Contains(stdout, want) {
		t.Fatalf("exit %d, output %q; want exit 1 and %q", code, stdout, want)
	}
	if code, stdout, _ := syncsim("list"); code != 0 || !strings.Contains(stdout, "owner-isolated-past-ttl") {
		t.Fatalf("list: exit %d, %q", code, stdout)
	}
}

// TestHelpExitsZero: every command answers --help with its usage.
func TestHelpExitsZero(t *testing.T) {
	for _, c := range []string{"list", "run", "explore", "replay", "check", "report", "cluster", "mutants", "version"} {
		code, _, stderr := syncsim(c, "--help")
		if code != exitPass || !strings.Contains(stderr, "usage: syncsim "+c) {
			t.Errorf("syncsim %s --help: exit %d, %q", c, code, stderr)
		}
	}
}

// TestCheckUndecidedExitsThree: a stored run that did not go as written
// re-checks as undecided, exit 3.
func TestCheckUndecidedExitsThree(t *testing.T) {
	h := model.History{Version: model.HistoryVersion, Events: []model.Event{
		{Time: 1e6, Kind: model.Skipped, Detail: "step 1 (crash owner of sync-1): nobody works on sync-1"},
	}}
	data, _ := json.Marshal(h)
	path := writeFile(t, t.TempDir(), "history.json", data)
	code, stdout, _ := syncsim("check", path)
	if code != exitUndecided || !strings.Contains(stdout, "proves nothing") {
		t.Fatalf("exit %d, %q; want 3 and the reason", code, stdout)
	}
}
