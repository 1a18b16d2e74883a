// Command prepare writes etcd with syncsim's peer dial hook and a go.work
// that uses it (see package etcdpatch), and prints the go.work's path:
//
//	GOWORK=$(go run ./internal/etcdpatch/prepare .bin/simclock) go test -tags simclock ./...
package main

import (
	"fmt"
	"os"

	"github.com/syncsim/syncsim/internal/etcdpatch"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: prepare DIR (where the patched module and its go.work go)")
		os.Exit(2)
	}
	work, err := etcdpatch.Prepare(".", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "prepare the simulated clock's etcd:", err)
		os.Exit(1)
	}
	fmt.Println(work)
}
