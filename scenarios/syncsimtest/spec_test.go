package syncsimtest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/sim"
)

func TestBadSpecRefused(t *testing.T) {
	system := func(context.Context, agent.Config) error { return nil }
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Command: "true"}, "names no Scenario"},
		{Spec{Scenario: "owner-crash"}, "one of System or Command"},
		{Spec{Scenario: "owner-crash", Command: "true", System: system}, "one of System or Command"},
		{Spec{Scenario: "owner-crash", Command: "./no/such/agent"}, "no such file"},
		{Spec{Scenario: "owner-crash", Command: "true", Agent: sim.Declared{Layout: "mine"}}, `"layout" is "mine"`},
	} {
		if _, err := c.spec.options(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error saying %q", c.spec, err, c.want)
		}
	}
}

// TestRelativeCommand: a relative binary is found from the directory the
// tests started in, not the scratch directory sim.Init moves them to.
func TestRelativeCommand(t *testing.T) {
	opts, err := Spec{Scenario: "owner-crash", Command: "./spec_test.go --flag"}.options()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(startDir, "spec_test.go"); opts.Command.Path != want {
		t.Errorf("the command's binary is %q, want %q", opts.Command.Path, want)
	}
}
