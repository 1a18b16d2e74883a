package main

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/syncsim/syncsim/model"
	"github.com/syncsim/syncsim/scenarios"
)

// TestExitPrecedence pins which outcome a command's exit code reports:
// bad input over a violation over an undecided run over a pass, so a
// violation is never hidden behind a run that could not decide.
func TestExitPrecedence(t *testing.T) {
	tests := []struct {
		outcomes []int
		want     int
	}{
		{nil, exitPass},
		{[]int{exitPass, exitPass}, exitPass},
		{[]int{exitPass, exitUndecided}, exitUndecided},
		{[]int{exitViolation, exitUndecided}, exitViolation},
		{[]int{exitUndecided, exitViolation}, exitViolation},
		{[]int{exitUndecided, exitViolation, exitPass, exitUndecided}, exitViolation},
		{[]int{exitViolation, exitUsage}, exitUsage},
		{[]int{exitUsage, exitViolation, exitUndecided}, exitUsage},
		{[]int{exitPass, -1}, exitUndecided}, // a child that died
		{[]int{exitViolation, 137}, exitViolation},
	}
	for _, tt := range tests {
		var s exitStatus
		for _, code := range tt.outcomes {
			s.add(code)
		}
		if s.code() != tt.want {
			t.Errorf("outcomes %v: exit %d, want %d", tt.outcomes, s.code(), tt.want)
		}
	}
}

// TestKillTableRows: an agent whose runs could not all be carried out is
// an ERROR row that fails the command, never "clean" or "SURVIVED".
func TestKillTableRows(t *testing.T) {
	harness := errors.New("syncsim run: exited 2 having reported 0 runs of 31\nflag provided but not defined")
	tests := []struct {
		row  func(killTable, scenarios.Kill, error, io.Writer) int
		kill scenarios.Kill
		err  error
		code int
		want string
	}{
		{killTable.reference, scenarios.Kill{Agent: "reference"}, harness, exitUndecided, "reference                    ERROR: syncsim run: exited 2 having reported 0 runs of 31\n"},
		{killTable.mutant, scenarios.Kill{Agent: "session-done"}, harness, exitUndecided, "session-done                 ERROR: syncsim run: exited 2"},
		{killTable.reference, scenarios.Kill{Agent: "reference", Runs: 61}, nil, exitPass, " clean "},
		{killTable.reference, scenarios.Kill{Agent: "reference", Runs: 61, Undecided: 1}, nil, exitUndecided, "clean, 1 undecided"},
		{killTable.reference, scenarios.Kill{Agent: "reference", Runs: 61, Violations: 2, Killed: true}, nil, exitViolation, "ACCUSED (2 violations)"},
		{killTable.mutant, scenarios.Kill{Agent: "session-done", Runs: 61}, nil, exitViolation, "SURVIVED"},
		{killTable.mutant, scenarios.Kill{Agent: "session-done", Runs: 3, Killed: true, Property: model.ExclusiveWork, Scenario: "owner-crash"}, nil, exitPass, "killed"},
	}
	for _, tt := range tests {
		var out, stderr strings.Builder
		code := tt.row(killTable{w: &out}, tt.kill, tt.err, &stderr)
		if code != tt.code || !strings.Contains(out.String(), tt.want) {
			t.Errorf("%+v, %v: exit %d, row %q; want exit %d and %q", tt.kill, tt.err, code, out.String(), tt.code, tt.want)
		}
		if tt.err != nil && (strings.Contains(out.String(), "clean") || strings.Contains(out.String(), "SURVIVED") || !strings.Contains(stderr.String(), "flag provided but not defined")) {
			t.Errorf("%+v: row %q, stderr %q; an error is neither clean nor SURVIVED, and its whole message goes to stderr", tt.kill, out.String(), stderr.String())
		}
	}
}
