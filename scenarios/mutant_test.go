package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

func TestMutantsApply(t *testing.T) {
	ms := Mutants()
	if len(ms) == 0 {
		t.Fatal("no mutants")
	}
	for _, m := range ms {
		check := exec.Command("git", "apply", "--check", "-")
		check.Dir, check.Stdin = repoRoot, bytes.NewReader(m.Patch)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("mutant %s no longer applies to agent/: %v\n%s", m.Name, err, out)
		}
	}
}

// TestMutantPatchedInsideAWorkTree: a mutant's copy in an ignored directory
// of another git work tree (as make test's, under .bin) is patched all the same, and a
// patch that changes nothing is an error, not a mutant that "survives".
func TestMutantPatchedInsideAWorkTree(t *testing.T) {
	tree := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", tree).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	// Inside an ignored directory git apply skips every path, silently.
	if err := os.WriteFile(filepath.Join(tree, ".gitignore"), []byte(".bin/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := mutantNamed(t, "trust-campaign") // a git diff: git apply reads its paths from the work tree's top
	if err := m.patchCopy(context.Background(), repoRoot, filepath.Join(tree, ".bin", "mutant")); err != nil {
		t.Fatal(err)
	}
	if err := m.changed(repoRoot, repoRoot); err == nil || !strings.Contains(err.Error(), "unchanged") {
		t.Fatalf("an unpatched copy: %v; want an error saying the patch left a file unchanged", err)
	}
}

// TestSessionDoneAgentIsCaught proves the P1 check bites: an agent that stops
// its workers only when Session.Done() fires keeps working after its lease
// expired, while another agent has taken over. The overlap depends on where
// the client's one-second deadline check falls, so the scenario is tried up
// to five times; it is caught in most single attempts.
func TestSessionDoneAgentIsCaught(t *testing.T) {
	t.Parallel() // with the other real-clock tests, after the simulated ones
	mutant := mutantNamed(t, "session-done")
	dir := t.TempDir()
	bin, err := mutantBinary(mutant.Name)
	if err != nil {
		t.Fatal(err)
	}
	const attempts = 5
	for i := 1; i <= attempts; i++ {
		run, code := runBuilt(t, bin, dir, "owner-isolated-past-ttl")
		if run.Status == model.Pass {
			t.Logf("attempt %d: not caught this time", i)
			continue
		}
		if code != 1 {
			t.Errorf("exit code %d, want 1 for a violation", code)
		}
		p1 := run.Results[0]
		v := p1.First()
		if p1.Property != model.ExclusiveWork || p1.Status != model.Fail || v == nil {
			t.Fatalf("attempt %d: want a P1 violation, got %+v", i, p1)
		}
		if len(v.Agents) != 2 || v.Agents[0] == v.Agents[1] || !(strings.HasPrefix(v.Sync, "sync-") || v.Sync == model.Leadership) || v.To <= v.From {
			t.Fatalf("the violation must name two agents, a sync or leadership, and a positive overlap: %+v", v)
		}
		for _, want := range []string{v.Agents[0], v.Agents[1], "until", "isolate " + v.Agents[0]} {
			if !strings.Contains(v.Text, want) {
				t.Errorf("explanation %q does not mention %q", v.Text, want)
			}
		}
		if run.Mutant != mutant.Name {
			t.Errorf("the run line says mutant %q, want %q", run.Mutant, mutant.Name)
		}
		var summary struct{ Mutant string }
		data, _ := os.ReadFile(filepath.Join(run.Report, "summary.json"))
		if err := json.Unmarshal(data, &summary); err != nil || summary.Mutant != mutant.Name {
			t.Errorf("the report's summary.json says mutant %q (%v), want %q: a planted bug must never be blamed on the reference agent", summary.Mutant, err, mutant.Name)
		}
		again, err := reports.Recheck(run.Report)
		if err != nil {
			t.Fatalf("re-check the stored history: %v", err)
		}
		if again.Status != model.Fail || again.Results[0].Summary != p1.Summary {
			t.Errorf("offline re-check says %s / %q; the live run said %q", again.Status, again.Results[0].Summary, p1.Summary)
		}
		t.Logf("caught on attempt %d: %s (report %s)", i, v.Text, run.Report)
		return
	}
	t.Fatalf("the Session.Done() agent survived %d attempts of owner-isolated-past-ttl", attempts)
}

func mutantNamed(t *testing.T, name string) Mutant {
	for _, m := range Mutants() {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no mutant %q", name)
	return Mutant{}
}

// quickKills are the three quickest kills, each by one catalogue scenario.
var quickKills = []struct {
	mutant, scenario string
	property         model.Property
}{
	{"trust-campaign", "leader-agent-crash", model.ExclusiveWork},
	{"get-then-put-claim", "claim-stalled-while-reassigned", model.ExclusiveWork},
	{"leader-without-term-guard", "leader-stalled-mid-rebalance", model.FencedEffects},
}

// TestQuickKills keeps proving in CI that the checks bite: besides the
// Session.Done() agent above, the three quickest kills, each by one short
// catalogue scenario that kills it every time (tried up to three times
// all the same, as time is real).
func TestQuickKills(t *testing.T) {
	t.Parallel()
	for _, tt := range quickKills {
		t.Run(tt.mutant, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin, err := mutantBinary(tt.mutant)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 3; i++ {
				run, _ := runBuilt(t, bin, dir, tt.scenario)
				first := model.Verdict{Results: run.Results}.First()
				if run.Status == model.Fail && first.Property == tt.property {
					t.Logf("caught on attempt %d: %s (report %s)", i, first.Summary, run.Report)
					return
				}
				t.Logf("attempt %d: %s", i, run.Status)
			}
			t.Fatalf("%s survived %s three times; %s should have failed", tt.mutant, tt.scenario, tt.property)
		})
	}
}

// runBuilt runs scenario once with a syncsim built in dir, and returns its
// outcome and exit code.
func runBuilt(t *testing.T, bin, dir, scenario string) (Line, int) {
	t.Helper()
	cmd := exec.Command(bin, "run", "--json", "--failures-only", "--out", reportsDir, scenario)
	cmd.Dir = dir
	out, err := cmd.Output()
	run, perr := ParseLine(bytes.TrimSpace(out))
	if perr != nil || run.Status == Errored {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s: %v %s; output %q (%v), stderr %q", scenario, perr, run.Error, out, err, stderr)
	}
	return run, cmd.ProcessState.ExitCode()
}

// fakeSyncsim writes a shell script that stands in for a built syncsim: for
// every command it prints out on stdout and errText on stderr, then exits
// with code (or, with code -1, kills itself).
func fakeSyncsim(t *testing.T, out []string, errText string, code int) string {
	t.Helper()
	exit := fmt.Sprintf("exit %d", code)
	if code < 0 {
		exit = "kill -9 $$"
	}
	script := fmt.Sprintf("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\necho %q >&2\n%s\n", strings.Join(out, "\n"), errText, exit)
	bin := filepath.Join(t.TempDir(), "syncsim")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// catalogueLines is a run line for each catalogue scenario, all with
// status, as `syncsim run --json all` prints them.
func catalogueLines(status model.Status) []string {
	var lines []string
	for _, sc := range Catalogue() {
		lines = append(lines, string(Line{Name: sc.Name, Status: status}.Encode()))
	}
	return lines
}

// TestHuntErrors: Hunt never calls an agent clean, or a mutant surviving,
// on runs that did not happen or a child that failed without saying why.
func TestHuntErrors(t *testing.T) {
	passes := catalogueLines(model.Pass)
	failed := string(Line{Name: "owner-crash", Status: model.Fail, Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Fail, Expected: true}}}.Encode())
	errored := string(Line{Name: "owner-crash", Status: Errored, Error: "start the cluster: no ports left"}.Encode())
	tests := []struct {
		name   string
		out    []string
		stderr string
		code   int
		want   string
	}{
		{"bad usage", nil, "flag provided but not defined: -bogus", 2, "flag provided but not defined: -bogus"},
		{"died", passes[:1], "panic: oops", -1, "signal: killed"},
		{"garbage", append([]string{"{not json"}, passes...), "", 0, "unreadable run line"},
		{"undecided unexplained", passes, "syncsim run: owner-crash: no ports left", 3, "no ports left"},
		{"violation unexplained", passes, "", 1, "exited 1 (a violation) but reported no failed run"},
		{"runs missing", passes[1:], "", 0, fmt.Sprintf("reported %d runs of %d", len(passes)-1, len(passes))},
		{"no runs at all", []string{"nothing to say"}, "", 0, fmt.Sprintf("reported 0 runs of %d", len(passes))},
		{"a run that could not run", append([]string{errored}, passes...), "syncsim run: owner-crash: error", 3, "owner-crash could not run: start the cluster: no ports left"},
		{"a failure naming no property", []string{string(Line{Name: "owner-crash", Status: model.Fail}.Encode())}, "", 1, "names no failed property"},
		{"errored without a reason", []string{string(Line{Name: "owner-crash", Status: Errored}.Encode())}, "", 3, "not why"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := fakeSyncsim(t, tt.out, tt.stderr, tt.code)
			for _, stopAtKill := range []bool{false, true} {
				k, err := Hunt(context.Background(), bin, "agent", Hunting{Out: t.TempDir(), Parallel: 1, StopAtKill: stopAtKill})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Hunt (stop at kill %v) = %+v, %v; want an error saying %q", stopAtKill, k, err, tt.want)
				}
			}
		})
	}
	// A failure the child explains is a kill, whatever follows it.
	bin := fakeSyncsim(t, append([]string{failed}, passes...), "", 1)
	k, err := Hunt(context.Background(), bin, "agent", Hunting{Out: t.TempDir(), Parallel: 1, StopAtKill: true})
	if err != nil || !k.Killed || k.Property != model.ExclusiveWork || k.Scenario != "owner-crash" {
		t.Fatalf("Hunt = %+v, %v; want a kill by P1 in owner-crash", k, err)
	}
}

// TestHuntCounts: a child that runs everything and says so is believed,
// and Progress hears the count after every run.
func TestHuntCounts(t *testing.T) {
	lines := append([]string{"explore: seed 1, shard 1/1"}, catalogueLines(model.Pass)...)
	lines[1] = string(Line{Name: Catalogue()[0].Name, Status: model.Undecided}.Encode())
	var heard []int
	progress := func(k Kill) { heard = append(heard, k.Runs) }
	k, err := Hunt(context.Background(), fakeSyncsim(t, lines, "", 3), "reference", Hunting{Out: t.TempDir(), Parallel: 1, Progress: progress})
	if err != nil || k.Killed || k.Runs != len(Catalogue()) || k.Undecided != 1 {
		t.Fatalf("Hunt = %+v, %v; want every catalogue run, one undecided, and no error", k, err)
	}
	if len(heard) != len(Catalogue()) || heard[len(heard)-1] != len(Catalogue()) {
		t.Errorf("Progress heard counts %v; want 1 to %d", heard, len(Catalogue()))
	}
}

// TestLine: a run line reads back as written, naming the seed, the agent
// and the clock, and one that no run could have printed is refused.
func TestLine(t *testing.T) {
	sc := &Scenario{Name: "explore-7"}
	sc.Seed = 7
	o := &Outcome{Scenario: sc, Verdict: model.Verdict{Status: model.Fail, Results: []model.Result{{Property: model.FencedEffects, Status: model.Fail, Expected: true, Summary: "stale write"}}}, Report: "/r/explore-7"}
	for _, tt := range []struct {
		o    *Outcome
		err  error
		want Line
	}{
		{o, nil, Line{Name: "explore-7", Seed: 7, Agent: "reference", Clock: "real", Status: model.Fail, Results: o.Verdict.Results, Report: "/r/explore-7"}},
		{nil, errors.New("start the cluster: no ports left"), Line{Name: "explore-7", Seed: 7, Agent: "reference", Clock: "real", Status: Errored, Error: "start the cluster: no ports left"}},
		{o, errors.New("write the report: disk full"), Line{Name: "explore-7", Seed: 7, Agent: "reference", Clock: "real", Status: Errored, Results: o.Verdict.Results, Report: "/r/explore-7", Error: "write the report: disk full"}},
	} {
		l := NewLine(sc, tt.o, tt.err)
		back, err := ParseLine(l.Encode())
		if err != nil || !reflect.DeepEqual(back, tt.want) {
			t.Errorf("NewLine(%v) read back as %+v, %v; want %+v", tt.err, back, err, tt.want)
		}
	}
	for _, bad := range []string{`{"name":`, `{"status":"pass"}`, `{"name":"x","status":"maybe"}`, `{"name":"x","status":"error"}`} {
		if _, err := ParseLine([]byte(bad)); err == nil {
			t.Errorf("ParseLine(%s) accepted it", bad)
		}
	}
}

// TestCopyModuleCopiesWhatGitWouldCommit: a mutant is built from tracked
// files and new ones, never from ignored build output or deleted files.
func TestCopyModuleCopiesWhatGitWouldCommit(t *testing.T) {
	root := t.TempDir()
	write := func(name string) {
		path := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	for _, f := range []string{".gitignore", "go.mod", "agent/agent.go", "gone.go"} {
		write(f)
	}
	os.WriteFile(filepath.Join(root, ".gitignore"), []byte("*.test\n/syncsim-reports/\n"), 0o644)
	git("add", ".")
	os.Remove(filepath.Join(root, "gone.go"))
	for _, f := range []string{"agent/new.go", "model.test", "syncsim-reports/run/history.json"} {
		write(f)
	}
	dir := t.TempDir()
	if err := copyModule(root, dir); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir, ".gitignore", "agent/agent.go", "agent/new.go", "go.mod")
}

// TestCopyModuleOutsideGit: without git, the tree is copied without
// dot-directories, reports, test binaries and profiles.
func TestCopyModuleOutsideGit(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"go.mod", "agent/agent.go", "model.test", "cpu.prof", ".git/config", ".bin/syncsim", "syncsim-reports/index.html"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte(f), 0o644)
	}
	dir := t.TempDir()
	if err := copyModule(root, dir); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, dir, "agent/agent.go", "go.mod")
}

// assertFiles checks that dir holds exactly the files named.
func assertFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	var got []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			got = append(got, filepath.ToSlash(rel))
		}
		return err
	})
	if !slices.Equal(got, want) {
		t.Errorf("copied %q, want %q", got, want)
	}
}

// TestSplitDealsEveryRun: a phase dealt out to processes runs every one of
// its runs once: the catalogue by name, the exploration by shard.
func TestSplitDealsEveryRun(t *testing.T) {
	run := phase{[]string{"run", "--json", "all"}, len(Catalogue())}
	names := map[string]int{}
	total := 0
	for _, p := range run.split(2) {
		total += p.runs
		for _, a := range p.args[2:] {
			names[a]++
		}
		if len(p.args)-2 != p.runs {
			t.Errorf("part %v owes %d runs", p.args, p.runs)
		}
	}
	if total != len(Catalogue()) || len(names) != len(Catalogue()) {
		t.Errorf("the parts run %d scenarios, %d distinct, of %d", total, len(names), len(Catalogue()))
	}
	for name, n := range names {
		if n != 1 {
			t.Errorf("%s runs %d times", name, n)
		}
	}
	explore := phase{[]string{"explore", "--count", "5", "--seed", "1"}, 5}
	parts := explore.split(2)
	if len(parts) != 2 || parts[0].runs != 3 || parts[1].runs != 2 {
		t.Fatalf("5 drawn runs split in 2: %+v", parts)
	}
	for i, p := range parts {
		want := []string{"explore", "--count", fmt.Sprint(p.runs), "--seed", "1", "--shard", fmt.Sprintf("%d/2", i+1)}
		if !slices.Equal(p.args, want) {
			t.Errorf("part %d: %q, want %q", i, p.args, want)
		}
	}
	if got := (phase{[]string{"explore", "--count", "1"}, 1}).split(4); len(got) != 1 {
		t.Errorf("one run split in 4 gives %d parts", len(got))
	}
}

// TestHuntPartsStopAtKill: on the simulated clock a phase runs in parts at
// once, and the first kill stops every part: here the part that runs
// owner-crash fails it, and the other would go on for a minute.
func TestHuntPartsStopAtKill(t *testing.T) {
	fail := string(Line{Name: "owner-crash", Status: model.Fail, Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Fail, Expected: true}}}.Encode())
	script := fmt.Sprintf(`#!/bin/sh
case "$%s" in *owner-crash*) echo '%s';; esac
trap 'exit 130' INT
sleep 60 >/dev/null 2>&1 &
wait
`, SimArgsEnv, fail)
	bin := filepath.Join(t.TempDir(), "syncsim")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	k, err := Hunt(context.Background(), bin, "m", Hunting{Out: t.TempDir(), Parallel: 2, StopAtKill: true, Clock: sim.SimClock})
	if err != nil || !k.Killed || k.Scenario != "owner-crash" {
		t.Fatalf("Hunt = %+v, %v; want a kill by owner-crash", k, err)
	}
	if d := time.Since(began); d > 30*time.Second {
		t.Errorf("the hunt took %v: the other part was not stopped at the kill", d)
	}
}

// TestHuntReplaysTheKill: after a kill, Hunting.Replay runs the killing
// report again and counts how often it failed again, from replay's own
// words; a replay that does not say is an error.
func TestHuntReplaysTheKill(t *testing.T) {
	fail := string(Line{Name: "owner-crash", Status: model.Fail, Report: "/r/owner-crash", Results: []model.Result{{Property: model.ExclusiveWork, Status: model.Fail, Expected: true}}}.Encode())
	for _, tc := range []struct {
		said       string
		reproduced int
		ok         bool
	}{
		{"replaying owner-crash 20 times\nreproduced 19 of 20 (95%)", 19, true},
		{"replaying owner-crash 20 times", 0, false},
	} {
		script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in replay) printf '%%s\\n' '%s';; *) echo '%s';; esac\n",
			strings.ReplaceAll(tc.said, "\n", "' '"), fail)
		bin := filepath.Join(t.TempDir(), "syncsim")
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		k, err := Hunt(context.Background(), bin, "m", Hunting{Out: t.TempDir(), Parallel: 1, StopAtKill: true, Replay: 20})
		if tc.ok && (err != nil || k.Replays != 20 || k.Reproduced != tc.reproduced) {
			t.Errorf("replay said %q: Hunt = %+v, %v; want %d of 20", tc.said, k, err, tc.reproduced)
		}
		if !tc.ok && err == nil {
			t.Errorf("replay said %q: Hunt = %+v with no error", tc.said, k)
		}
	}
}
