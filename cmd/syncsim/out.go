package main

import (
	"fmt"
	"io"

	"github.com/syncsim/syncsim/reports"
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
