package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent/sink"
)

func TestSinkModeTakesTheHarnessEnvironment(t *testing.T) {
	env := sink.Env{Endpoints: []string{"unix:///tmp/a-m0.sock", "unix:///tmp/a-m1.sock"}, Prefix: "/run-7/",
		Agent: "agent-2", Incarnation: 3, LeaseTTL: 3 * time.Second, Sink: "http://127.0.0.1:4000"}
	vars := map[string]string{}
	for _, kv := range env.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		vars[name] = value
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f runFlags
	f.register(fs)
	if err := fs.Parse([]string{"--syncer", "sink", "--prefix", "/mine/"}); err != nil {
		t.Fatal(err)
	}
	c, err := fromSink(fs, func(name string) string { return vars[name] })
	if err != nil {
		t.Fatal(err)
	}
	if f.conn.endpoints != "unix:///tmp/a-m0.sock,unix:///tmp/a-m1.sock" || f.id != "agent-2" || f.ttl != 3*time.Second || f.metricsAddr != "" {
		t.Errorf("flags from the environment: endpoints %q, id %q, lease-ttl %v, metrics-addr %q", f.conn.endpoints, f.id, f.ttl, f.metricsAddr)
	}
	if f.conn.prefix != "/mine/" {
		t.Errorf("--prefix given on the command line became %q", f.conn.prefix)
	}
	if c.URL != env.Sink || c.Sender != (sink.Sender{Agent: "agent-2", Incarnation: 3}) {
		t.Errorf("sink client %+v", c)
	}
}

func TestSinkModeOutsideTheHarness(t *testing.T) {
	t.Setenv(sink.EnvSink, "")
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--syncer", "sink"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--syncer sink runs under the syncsim harness") || !strings.Contains(stderr.String(), sink.EnvSink+" is not set") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestUnknownSyncer(t *testing.T) {
	// Bounded: an agent that accepted the flag would wait for etcd.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	code := run(ctx, []string{"run", "--syncer", "kafka"}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `--syncer "kafka": use demo or sink`) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
