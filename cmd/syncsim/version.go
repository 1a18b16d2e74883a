package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/syncsim/syncsim/cmd/internal/cliflag"
	"github.com/syncsim/syncsim/internal/buildinfo"
)

// version prints which build of syncsim this is: a CI log or a bug report
// then names the commit whose harness gave the verdict.
func version(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: syncsim version\n\nPrints the module version, the commit it was built from and the Go toolchain.")
	}
	pos, err := cliflag.Parse(fs, args)
	if err != nil {
		return parseFailed(err)
	}
	if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	fmt.Fprint(stdout, buildinfo.Read().Describe("syncsim"))
	return exitPass
}
