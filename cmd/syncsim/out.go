package main

import (
	"fmt"
	"io"

	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/reports/junit"
)

// outReady checks, before anything runs, that the reports directory --out
// names can be written, and says why not on stderr.
func outReady(command, dir string, stderr io.Writer) bool {
	if err := reports.Prepare(dir); err != nil {
		fmt.Fprintf(stderr, "syncsim %s: --out: %v\n", command, err)
		return false
	}
	return true
}

// junitReady checks, before anything runs, that the JUnit file --junit
// names (if any) can be written, and says why not on stderr.
func junitReady(command, path string, stderr io.Writer) bool {
	if path == "" {
		return true
	}
	if err := junit.Ready(path); err != nil {
		fmt.Fprintf(stderr, "syncsim %s: --junit: %v\n", command, err)
		return false
	}
	return true
}
