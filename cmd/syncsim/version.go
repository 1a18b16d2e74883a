package main

import (
	"fmt"
	"io"

	"github.com/syncsim/syncsim/internal/buildinfo"
)

// version prints which build of syncsim this is: a CI log or a bug report
// then names the commit whose harness gave the verdict.
func version(args []string, stdout, stderr io.Writer) int {
	if code, ok := noArgs("version", "Prints the module version, the commit it was built from and the Go toolchain.", args, stderr); !ok {
		return code
	}
	fmt.Fprint(stdout, buildinfo.Read().Describe("syncsim"))
	return exitPass
}
