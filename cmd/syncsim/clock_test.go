package main

import (
	"strings"
	"testing"
)

// TestClockFlagRejectsUnknown: a clock that does not exist is bad usage,
// and the message names the ones that do.
func TestClockFlagRejectsUnknown(t *testing.T) {
	for _, command := range []string{"run", "explore", "mutants"} {
		args := []string{command, "--clock", "moon"}
		if command == "run" {
			args = append(args, "owner-crash")
		}
		code, _, stderr := syncsim(args...)
		if code != exitUsage || !strings.Contains(stderr, `"moon"`) || !strings.Contains(stderr, `"real"`) || !strings.Contains(stderr, `"sim"`) {
			t.Errorf("%s --clock moon: exit %d, stderr %q; want exit %d naming the clocks", command, code, stderr, exitUsage)
		}
	}
}
