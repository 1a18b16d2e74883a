package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	wire "github.com/syncsim/syncsim/agent/sink"
	"github.com/syncsim/syncsim/model"
)

// envHelperAgent makes TestHelperAgent act as an agent process: "work"
// reports a worker on sync-1 and an effect every 20ms until SIGTERM;
// "deaf" does the same and ignores SIGTERM; "silent" never reports.
const envHelperAgent = "SYNCSIM_TEST_HELPER_AGENT"

// helperCommand is the command line that runs this test binary as an
// agent in mode.
func helperCommand(mode string) *Command {
	return &Command{Line: fmt.Sprintf("env %s=1 %s=%s '%s' '-test.run=^TestHelperAgent$'", envFresh, envHelperAgent, mode, os.Args[0])}
}

// TestHelperAgent is not a test: it is the agent process of the tests
// below, when they start this binary with envHelperAgent set.
func TestHelperAgent(t *testing.T) {
	mode := os.Getenv(envHelperAgent)
	if mode == "" {
		t.Skip("the agent process of the tests below")
	}
	env, err := wire.EnvFrom(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	if mode == "silent" {
		<-term
		return
	}
	c := wire.NewClient(env, wire.Epoch)
	ctx := context.Background()
	token := int64(env.Incarnation)
	from := wire.Sender{Agent: env.Agent, Incarnation: env.Incarnation}
	if _, err := c.Started(ctx, wire.Started{Sender: from, Sync: "sync-1", Token: token}); err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	for n := int64(1); ; n++ {
		select {
		case <-term:
			if mode == "deaf" {
				continue
			}
			c.Stopped(ctx, wire.Stopped{Sender: from, Sync: "sync-1", Token: token})
			return
		case <-tick.C:
			c.Effect(ctx, wire.Effect{Sender: from, Sync: "sync-1", Token: token, Position: n})
		}
	}
}

// processSetup is a small world for one agent process.
var processSetup = Setup{Members: 1, Agents: 1, Syncs: 1, LeaseTTL: Duration(2 * time.Second), Quiet: Duration(300 * time.Millisecond), Seed: 1}

func runProcess(t *testing.T, cmd *Command, steps []Step) model.History {
	t.Helper()
	res, err := Run(context.Background(), processSetup, steps, Options{Command: cmd, ReadyTimeout: 3 * time.Second, SettleTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return res.History
}

func find(h model.History, kind model.Kind, agent string) []model.Event {
	var out []model.Event
	for _, e := range h.Events {
		if e.Kind == kind && (agent == "" || e.Agent == agent) {
			out = append(out, e)
		}
	}
	return out
}

// TestProcessPauseCrashRestart: a pause is SIGSTOP (no effect arrives
// while it lasts, timers frozen), a crash SIGKILL that ends the process's
// worker in the history, and the restart a second incarnation.
func TestProcessPauseCrashRestart(t *testing.T) {
	h := runProcess(t, helperCommand("work"), []Step{
		{At: Duration(300 * time.Millisecond), Fault: Pause, Target: "agent-1", For: Duration(time.Second)},
		{At: Duration(1500 * time.Millisecond), Fault: Crash, Target: "agent-1", For: Duration(200 * time.Millisecond)},
	})
	if len(find(h, model.Ready, "")) != 1 {
		t.Fatalf("the run never got ready on the agent's sink reports: %v", h.Events)
	}
	paused := find(h, model.FaultStart, "")
	ended := find(h, model.FaultEnd, "")
	if len(paused) != 2 || len(ended) < 1 {
		t.Fatalf("faults: started %v, ended %v", paused, ended)
	}
	from, to := paused[0].Time+int64(100*time.Millisecond), ended[0].Time-int64(20*time.Millisecond)
	for _, e := range find(h, model.Effect, "agent-1") {
		if e.Time > from && e.Time < to {
			t.Errorf("effect at %v while the process was paused (%v..%v): a pause must freeze it", time.Duration(e.Time), time.Duration(from), time.Duration(to))
		}
	}
	if len(find(h, model.AgentCrash, "agent-1")) != 1 {
		t.Error("no crash recorded")
	}
	var killedWorker, second bool
	for _, e := range h.Events {
		killedWorker = killedWorker || e.Kind == model.WorkExit && e.Incarnation == 1 && strings.Contains(e.Detail, "process ended")
		second = second || e.Kind == model.WorkStart && e.Incarnation == 2
	}
	if !killedWorker || !second {
		t.Errorf("the killed incarnation's worker ended: %v; a second incarnation started: %v", killedWorker, second)
	}
}

// TestProcessKilledAfterGrace: an agent that ignores SIGTERM is killed
// after the grace, and the stop says so.
func TestProcessKilledAfterGrace(t *testing.T) {
	cmd := helperCommand("deaf")
	cmd.Grace = 300 * time.Millisecond
	h := runProcess(t, cmd, nil)
	stops := find(h, model.AgentStop, "agent-1")
	if len(stops) != 1 || !strings.Contains(stops[0].Detail, "killed after the grace") {
		t.Fatalf("stops %v; want one that says it was killed after the grace", stops)
	}
}

// TestProcessThatFails: a command that does not start, exits at once or
// never reports makes the run undecided, naming the agent and the cause.
func TestProcessThatFails(t *testing.T) {
	cases := []struct {
		cmd  *Command
		want string
	}{
		{&Command{Line: "/nonexistent/agent"}, "did not start"},
		{&Command{Line: "false"}, "exited at once"},
		{helperCommand("silent"), "sent nothing to the sink"},
	}
	for _, tc := range cases {
		h := runProcess(t, tc.cmd, []Step{{At: Duration(100 * time.Millisecond), Fault: Crash, Target: "agent-1"}})
		var detail []string
		for _, e := range find(h, model.Skipped, "") {
			detail = append(detail, e.Detail)
		}
		all := strings.Join(detail, "\n")
		if !strings.Contains(all, tc.want) || !strings.Contains(all, "agent-1") {
			t.Errorf("%s: skipped %q; want it to name agent-1 and say %q", tc.cmd.Line, detail, tc.want)
		}
		if v := model.Check(h, model.Options{LeaseTTL: processSetup.LeaseTTL.Std()}); v.Status != model.Undecided {
			t.Errorf("%s: verdict %s; want undecided", tc.cmd.Line, v)
		}
		if len(find(h, model.FaultStart, "")) > 0 {
			t.Errorf("%s: the timeline ran on an agent that never worked", tc.cmd.Line)
		}
	}
}

func TestProcessRefusesSimClock(t *testing.T) {
	_, err := Run(context.Background(), processSetup, nil, Options{Command: &Command{Line: "true"}, Clock: SimClock})
	if !errors.Is(err, errProcessClock) {
		t.Fatalf("Run with a command on the simulated clock: %v; want %v", err, errProcessClock)
	}
}
