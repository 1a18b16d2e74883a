package main

import (
	"flag"
	"fmt"

	"github.com/syncsim/syncsim/agent/sink"
)

// syncers are the values of run --syncer.
var syncers = []string{"demo", "sink"}

// fromSink sets run's flags from the syncsim harness's environment
// (docs/agent-protocol.md), for --syncer sink: every flag the command line
// did not give among --endpoints, --prefix, --id and --lease-ttl, and
// --metrics-addr to none, since a harness runs many agents on one host. It
// returns the client that reports to the harness's sink.
func fromSink(fs *flag.FlagSet, getenv func(string) string) (*sink.Client, error) {
	env, err := sink.EnvFrom(getenv)
	if err != nil {
		return nil, fmt.Errorf("--syncer sink runs under the syncsim harness: %w", err)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	values := map[string]string{
		"endpoints":    getenv(sink.EnvEndpoints),
		"prefix":       env.Prefix,
		"id":           env.Agent,
		"lease-ttl":    env.LeaseTTL.String(),
		"metrics-addr": "",
	}
	for name, v := range values {
		if !given[name] {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("--%s from the harness's environment: %w", name, err)
			}
		}
	}
	return sink.NewClient(env, sink.Revision), nil
}
