package main

import "testing"

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
