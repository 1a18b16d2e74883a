package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/sim"
)

func TestMain(m *testing.M) {
	if err := sim.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	sim.Close()
	os.Exit(code)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestRunAndOperate runs the agent command against an in-process cluster,
// adds and removes syncs with the operator commands, and watches the
// metrics and health follow; SIGTERM (here: cancellation) stops it cleanly.
func TestRunAndOperate(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := []string{"--endpoints", strings.Join(c.Endpoints(), ",")}
	syncagent := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append(args, conn...), &out, &errb)
		return code, out.String(), errb.String()
	}

	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	logs := &bytes.Buffer{} // read only after run returned
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"run", "--id", "a1", "--lease-ttl", "1s", "--metrics-addr", addr, "--demo-every", "20ms"}, conn...), io.Discard, logs)
	}()
	metric := func(name string) string {
		_, body := get("http://" + addr + "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		return ""
	}
	eventually(t, "the agent is healthy and leads", func() bool {
		code, _ := get("http://" + addr + "/healthz")
		return code == http.StatusOK && metric("syncagent_is_leader") == "1"
	})

	for _, s := range []string{"orders", "payments"} {
		if code, _, stderr := syncagent("syncs", "add", s); code != 0 {
			t.Fatalf("syncs add %s: exit %d: %s", s, code, stderr)
		}
	}
	eventually(t, "the agent owns both syncs and commits", func() bool {
		return metric("syncagent_owned_syncs") == "2" && metric(`syncagent_checkpoint_commits_total{result="ok"}`) > "1"
	})
	code, out, _ := syncagent("syncs", "ls")
	if code != 0 || !strings.Contains(out, "orders") || strings.Count(out, "a1") != 4 {
		t.Fatalf("syncs ls: exit %d:\n%s", code, out)
	}
	if code, _, _ := syncagent("syncs", "rm", "orders"); code != 0 {
		t.Fatalf("syncs rm: exit %d", code)
	}
	eventually(t, "the removed sync is released", func() bool { return metric("syncagent_owned_syncs") == "1" })

	stop()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(logs.String(), "stopped gracefully") {
			t.Fatalf("exit %d after cancellation; log:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop")
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: syncagent"},
		{[]string{"dance"}, `unknown command "dance"`},
		{[]string{"run", "--lease-ttl", "1500ms"}, "--lease-ttl 1.5s must be whole seconds"},
		{[]string{"run", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"syncs", "frob"}, `unknown verb "frob"`},
		{[]string{"syncs", "add", "x", "not json"}, "a sync definition must be a JSON object"},
		{[]string{"syncs", "rm"}, "usage: syncagent syncs"},
		{[]string{"syncs", "ls", "--endpoints", "127.0.0.1:1", "--dial-timeout", "200ms"}, "etcd unreachable: no answer from 127.0.0.1:1 within 200ms"},
		{[]string{"syncs", "ls", "--cert", "c.pem"}, "needs both a certificate file and a key file"},
	}
	for _, tt := range tests {
		var errb bytes.Buffer
		if code := run(context.Background(), tt.args, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("syncagent %v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
}
