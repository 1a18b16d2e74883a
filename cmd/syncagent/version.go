package main

import (
	"fmt"
	"io"

	"github.com/syncsim/syncsim/internal/buildinfo"
)

// version prints which build of syncagent this is.
func version(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: syncagent version\n\nPrints the module version, the commit it was built from and the Go toolchain.")
		return 2
	}
	fmt.Fprint(stdout, buildinfo.Read().Describe("syncagent"))
	return 0
}
