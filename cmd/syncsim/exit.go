package main

import "github.com/syncsim/syncsim/model"

// Exit codes, the same for every command.
const (
	exitPass      = 0
	exitViolation = 1
	exitUsage     = 2
	exitUndecided = 3
)

// rank orders exit codes by what must not be hidden: bad input over a
// violation over an undecided run over a pass. A violation outranks
// undecided so that a run which also could not decide something never
// hides it.
var rank = map[int]int{exitPass: 0, exitUndecided: 1, exitViolation: 2, exitUsage: 3}

// worse returns whichever of two exit codes a command must end with.
// A code outside the four (a child that died) counts as undecided.
func worse(a, b int) int {
	a, b = known(a), known(b)
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func known(code int) int {
	if _, ok := rank[code]; ok {
		return code
	}
	return exitUndecided
}

// exitStatus gathers what a command saw and decides its exit code; its
// zero value is a pass.
type exitStatus int

// add records an outcome given as its exit code.
func (s *exitStatus) add(code int) { *s = exitStatus(worse(int(*s), code)) }

// verdict records a checked run.
func (s *exitStatus) verdict(st model.Status) { s.add(exitCode(st)) }

func (s exitStatus) code() int { return int(s) }

func exitCode(s model.Status) int {
	switch s {
	case model.Pass:
		return exitPass
	case model.Fail:
		return exitViolation
	}
	return exitUndecided
}
