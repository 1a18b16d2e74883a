package sim

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
)

func TestSplitCommand(t *testing.T) {
	cases := []struct {
		line string
		want []string
	}{
		{"bin/agent --id x", []string{"bin/agent", "--id", "x"}},
		{"  a\tb\n c  ", []string{"a", "b", "c"}},
		{`sh -c 'echo $HOME | wc'`, []string{"sh", "-c", "echo $HOME | wc"}},
		{`a "b \"c\" \$d \n" e\ f`, []string{"a", `b "c" $d \n`, "e f"}},
		{`a '' b""c`, []string{"a", "", "bc"}},
		{`a x#y --k=v`, []string{"a", "x#y", "--k=v"}},
		{`./FOO=bar`, []string{"./FOO=bar"}},
	}
	for _, tc := range cases {
		got, err := SplitCommand(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
	refused := map[string]string{
		"":                   "empty",
		"a | b":              "shell syntax '|'",
		"a > out":            "shell syntax '>'",
		"a $HOME":            "shell syntax '$'",
		"a *.go":             "shell syntax '*'",
		"a ~/x":              "shell syntax '~'",
		"a # comment":        "shell syntax '#'",
		"a 'b":               "unclosed ' quote",
		`a \`:                "ends in a backslash",
		"GOFLAGS=-race a b":  "write env GOFLAGS=-race a b",
		"a; rm -rf /tmp/xyz": "shell syntax ';'",
	}
	for line, want := range refused {
		if _, err := SplitCommand(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SplitCommand(%q): %v, want an error saying %q", line, err, want)
		}
	}
}

func testEnv() wire.Env {
	return wire.Env{Endpoints: []string{"unix:///tmp/m0.sock"}, Prefix: "/p/", Agent: "agent-3", Incarnation: 2, LeaseTTL: 3 * time.Second, Sink: "http://127.0.0.1:1"}
}

// startCommand starts line, failing the test if it does not run; the
// process is killed when the test ends.
func startCommand(t *testing.T, c Command, log *buffer) *osProcess {
	t.Helper()
	p, err := c.start(testEnv(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.crash)
	return p
}

// waitOutput waits up to 5 s for log to hold want.
func waitOutput(t *testing.T, log *buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(log.bytes(), []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q never held %q", log.bytes(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCommandEnvironmentAndCrash(t *testing.T) {
	log := &buffer{}
	p := startCommand(t, Command{Line: `sh -c 'echo "$SYNCSIM_AGENT_ID.$SYNCSIM_INCARNATION ttl=$SYNCSIM_LEASE_TTL $SYNCSIM_ETCD_ENDPOINTS"; exec sleep 30'`}, log)
	waitOutput(t, log, "agent-3.2 ttl=3 unix:///tmp/m0.sock\n")
	start := time.Now()
	p.crash()
	if took := time.Since(start); took > 2*time.Second || !strings.Contains(p.exit(), "signal: killed") {
		t.Errorf("crash took %v and ended with %q, want SIGKILL at once", took, p.exit())
	}
}

func TestCommandStopsGracefully(t *testing.T) {
	log := &buffer{}
	p := startCommand(t, Command{Line: `sh -c 'trap "echo bye; exit 0" TERM; echo up; while :; do sleep 0.05; done'`, Grace: 5 * time.Second}, log)
	waitOutput(t, log, "up\n")
	p.freeze() // a frozen process is stopped too: it gets SIGCONT after SIGTERM
	p.stop()
	if p.killedAfterGrace() || !strings.Contains(string(log.bytes()), "bye") || !strings.HasPrefix(p.exit(), "exit status 0") {
		t.Errorf("stop: killed after grace %v, output %q, exit %q; want the trap's graceful exit", p.killedAfterGrace(), log.bytes(), p.exit())
	}
}

func TestCommandIgnoringTermIsKilledAfterGrace(t *testing.T) {
	log := &buffer{}
	grace := 300 * time.Millisecond
	p := startCommand(t, Command{Line: `sh -c 'trap "" TERM; echo up; while :; do sleep 0.05; done'`, Grace: grace}, log)
	waitOutput(t, log, "up\n")
	start := time.Now()
	p.stop()
	took := time.Since(start)
	if !p.killedAfterGrace() || took < grace || !strings.Contains(p.exit(), "killed after ignoring SIGTERM for 300ms") {
		t.Errorf("stop took %v, killed after grace %v, exit %q", took, p.killedAfterGrace(), p.exit())
	}
}

func TestCommandFreezeStopsItsTimers(t *testing.T) {
	log := &buffer{}
	p := startCommand(t, Command{Line: `sh -c 'while :; do echo tick; sleep 0.02; done'`}, log)
	waitOutput(t, log, "tick\n")
	p.freeze()
	time.Sleep(50 * time.Millisecond) // a tick already written may land
	frozen := len(log.bytes())
	time.Sleep(300 * time.Millisecond)
	if n := len(log.bytes()); n != frozen {
		t.Fatalf("a frozen process wrote %d bytes", n-frozen)
	}
	p.thaw()
	waitOutput(t, log, strings.Repeat("tick\n", frozen/len("tick\n")+1))
}

func TestCommandThatExitsAtOnce(t *testing.T) {
	_, err := Command{Line: `sh -c 'echo dialing etcd >&2; echo "no endpoints" >&2; exit 3'`}.start(testEnv(), &buffer{})
	if err == nil {
		t.Fatal("a command that exited at once started")
	}
	for _, want := range []string{`agent command "sh -c 'echo dialing etcd`, "exited at once", "exit status 3", "dialing etcd\n\tno endpoints"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\ndoes not say %q", err, want)
		}
	}
}

func TestCommandThatDoesNotStart(t *testing.T) {
	_, err := Command{Line: "no-such-agent-binary --id x"}.start(testEnv(), &buffer{})
	if err == nil || !strings.Contains(err.Error(), `agent command "no-such-agent-binary --id x" did not start`) {
		t.Errorf("start: %v, want an error naming the command", err)
	}
}

func TestCommandCrashKillsItsChildren(t *testing.T) {
	log := &buffer{}
	p := startCommand(t, Command{Line: `sh -c 'sleep 30 & echo "child $!"; wait'`}, log)
	waitOutput(t, log, "\n")
	var child int
	if _, err := fmt.Sscanf(string(log.bytes()), "child %d", &child); err != nil {
		t.Fatalf("output %q: %v", log.bytes(), err)
	}
	p.crash()
	// The child is reaped by init once killed; until then it is a zombie.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil && !isZombie(child) {
		if time.Now().After(deadline) {
			t.Fatalf("the agent's child %d outlived its crash", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && bytes.Contains(stat, []byte(") Z "))
}
