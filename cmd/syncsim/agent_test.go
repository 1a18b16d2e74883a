package main

import (
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/sim"
)

func TestAgentFlagsRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"explore", "--agent", "true", "--clock", "sim"}, "--agent: an agent run as a process lives on the machine's clock"},
		{[]string{"explore", "--agent", "true", "--mutant", "no-such-bug"}, "--mutant plants a bug in the reference agent"},
		{[]string{"explore", "--agent-fenced"}, "describe an --agent command; give one"},
		{[]string{"explore", "--agent", "no-such-agent-binary"}, `agent command "no-such-agent-binary"`},
		{[]string{"mutants", "--agent", "true"}, `--agent "true" is not the reference agent as a process`},
		{[]string{"mutants", "--agent", "true", "--clock", "sim"}, "--clock real"},
	}
	for _, tt := range tests {
		code, _, stderr := syncsim(tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("syncsim %v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestIsReference(t *testing.T) {
	for line, want := range map[string]bool{
		"syncagent run --syncer sink":                true,
		"/tmp/x/syncagent run --syncer=sink --debug": true,
		"syncagent run --lease-ttl 3s -syncer sink":  true,
		"syncagent run":                               false, // the demo syncer reports nothing
		"syncagent run --syncer demo":                 false,
		"syncagent run --syncer":                      false,
		"syncagent syncs ls --syncer sink":            false,
		"./lockagent run --syncer sink":               false,
		"env A=1 syncagent run --syncer sink":         false,
		"syncagent run --prefix sink --syncer demo":   false,
		"'/tmp/my dir/syncagent' run --syncer 'sink'": true,
	} {
		if got := isReference(line); got != want {
			t.Errorf("isReference(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestWithBinary: a mutant's syncagent replaces the first word, however
// odd its path, and every other word reads back unchanged.
func TestWithBinary(t *testing.T) {
	line := `syncagent run --syncer sink --log-level 'de bug' --x="a'b"`
	bin := "/tmp/it's a $dir/syncagent"
	got, err := withBinary(line, bin)
	if err != nil {
		t.Fatal(err)
	}
	words, err := sim.SplitCommand(got)
	if err != nil {
		t.Fatalf("withBinary gave %q, which does not split: %v", got, err)
	}
	want := []string{bin, "run", "--syncer", "sink", "--log-level", "de bug", "--x=a'b"}
	if !slices.Equal(words, want) {
		t.Errorf("withBinary gave %q, which splits into %q; want %q", got, words, want)
	}
}

// TestReferenceDeclared: the reference agent as a process is judged as the
// reference is, every check of etcd's log included, unless a spec says
// otherwise; --agent-fenced adds to either.
func TestReferenceDeclared(t *testing.T) {
	a := &agentFlags{line: "true run --syncer sink"}
	if _, d, ok := a.agent("run", sim.RealClock, io.Discard); !ok || !d.IsZero() {
		t.Errorf("a foreign command declared %+v (ok %v); want nothing", d, ok)
	}
	// Fenced without --agent-fenced: the reference design leaves fencing
	// its effects to the target (owner-paused-past-ttl accused it otherwise).
	a = &agentFlags{line: "/bin/syncagent run --syncer sink", binary: "/bin/true"}
	_, d, ok := a.agent("run", sim.RealClock, io.Discard)
	want := sim.Reference
	want.Fenced = true
	if !ok || !reflect.DeepEqual(d, want) {
		t.Errorf("the reference as a process declared %+v (ok %v); want %+v", d, ok, want)
	}
}
