package main

import (
	"fmt"
	"io"

	"github.com/syncsim/syncsim/internal/buildinfo"
)

// version prints which build of syncagent this is.
func version(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: syncagent version\n\nPrints the module version, the commit it was built from and the Go toolchain."
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) > 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fmt.Fprint(stdout, buildinfo.Read().Describe("syncagent"))
	return 0
}
