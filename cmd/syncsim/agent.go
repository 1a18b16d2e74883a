package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/syncsim/syncsim/internal/readfile"
	"github.com/syncsim/syncsim/reports"
	"github.com/syncsim/syncsim/sim"
)

const (
	agentUsage = "test this agent instead of the reference: a command line, each incarnation run as an OS process " +
		"that reports to the harness's sink (docs/agent-protocol.md); needs --clock real"
	agentSpecUsage = `a JSON file of what the --agent declares of itself: {"layout": "reference"|"", "token_kind": "revision"|"epoch", ` +
		`"balances": bool, "fenced": bool, "stop_within": "2s", "settle_timeout": "5s"}`
	agentFencedUsage = "with --agent: the sink refuses effects with a token older than the newest it accepted, as a well-fenced target does"
)

// agentFlags are the flags that choose the agent under test, shared by
// run, explore, replay and mutants.
type agentFlags struct {
	line   string
	spec   string
	fenced bool
	fs     *flag.FlagSet

	// From a report being replayed: the binary its command ran, and what
	// the agent declared.
	binary   string
	declared json.RawMessage
}

func addAgentFlags(fs *flag.FlagSet) *agentFlags {
	a := &agentFlags{fs: fs}
	fs.StringVar(&a.line, "agent", "", agentUsage)
	fs.StringVar(&a.spec, "agent-spec", "", agentSpecUsage)
	fs.BoolVar(&a.fenced, "agent-fenced", false, agentFencedUsage)
	return a
}

// given reports whether an agent command was asked for.
func (a *agentFlags) given() bool { return a.line != "" }

// agent reads the flags into the command to run and what it declares, its
// binary resolved now, before sim.Init changes the working directory. It
// tells stderr what is wrong and returns false on bad usage.
func (a *agentFlags) agent(command string, clock sim.Clock, stderr io.Writer) (*sim.Command, sim.Declared, bool) {
	var d sim.Declared
	fail := func(format string, args ...any) (*sim.Command, sim.Declared, bool) {
		fmt.Fprintf(stderr, "syncsim %s: "+format+"\n", append([]any{command}, args...)...)
		return nil, d, false
	}
	if !a.given() {
		if a.spec != "" || a.fenced {
			return fail("--agent-spec and --agent-fenced describe an --agent command; give one")
		}
		return nil, d, true
	}
	if clock == sim.SimClock {
		return fail("--agent: %v (--clock real)", errAgentClock)
	}
	c := &sim.Command{Line: a.line, Path: a.binary}
	if c.Path == "" {
		if err := c.Resolve(); err != nil {
			return fail("--agent: %v", err)
		}
	}
	if len(a.declared) > 0 && a.spec == "" {
		if err := json.Unmarshal(a.declared, &d); err != nil {
			return fail("the report's agent declaration: %v", err)
		}
	}
	if a.spec != "" {
		data, err := readfile.Regular(a.spec, readfile.MaxScenario)
		if err != nil {
			return fail("--agent-spec: %v", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return fail("--agent-spec %s: %v", a.spec, err)
		}
		if problems := d.Problems(); len(problems) > 0 {
			return fail("--agent-spec %s: %s", a.spec, strings.Join(problems, "; "))
		}
	}
	if d.IsZero() && isReference(a.line) {
		// syncagent's own layout: every check of etcd's log applies. Its
		// sink syncer hands each effect to the target with its claim's
		// token, and the reference design leaves fencing external effects
		// to the target: unfenced, a process thawed from a real pause gets
		// one write through before its watchdog stops it (Jepsen's case
		// against etcd locks), which P2 reports.
		d = sim.Reference
		d.Fenced = true
	}
	d.Fenced = d.Fenced || a.fenced
	return c, d, true
}

// isReference reports whether line runs the reference agent as a process:
// syncagent run --syncer sink.
func isReference(line string) bool {
	words, err := sim.SplitCommand(line)
	if err != nil || len(words) < 2 || filepath.Base(words[0]) != "syncagent" || words[1] != "run" {
		return false
	}
	for i, w := range words[2:] {
		flag := strings.TrimLeft(w, "-")
		if flag == "syncer=sink" || flag == "syncer" && i+3 < len(words) && words[i+3] == "sink" {
			return true
		}
	}
	return false
}

// withBinary is line with its first word replaced by bin, quoted so that
// sim.SplitCommand reads it back as one word.
func withBinary(line, bin string) (string, error) {
	words, err := sim.SplitCommand(line)
	if err != nil {
		return "", err
	}
	words[0] = bin
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " "), nil
}

// shellQuote quotes w for sim.SplitCommand when it needs it.
func shellQuote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n'\"\\|&;<>()$`*?[~#=") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// childArgs are the flags that give a child syncsim the same agent, its
// --agent line replaced by line.
func (a *agentFlags) childArgs(line string) ([]string, error) {
	args := []string{"--agent", line}
	if a.spec != "" {
		spec, err := filepath.Abs(a.spec)
		if err != nil {
			return nil, err
		}
		args = append(args, "--agent-spec", spec)
	}
	if a.fenced {
		args = append(args, "--agent-fenced")
	}
	return args, nil
}

// errAgentClock says why an agent command needs the real clock.
var errAgentClock = fmt.Errorf("an agent run as a process lives on the machine's clock, not in the simulated clock's bubble")

// alone refuses --agent with --mutant: the planted bugs are in the
// reference agent.
func (a *agentFlags) alone(command, mutant string, stderr io.Writer) bool {
	if a.given() && mutant != "" {
		fmt.Fprintf(stderr, "syncsim %s: --mutant plants a bug in the reference agent; it cannot apply to the --agent command\n", command)
		return false
	}
	return true
}

// replaying makes a replay without --agent run the agent the report ran:
// its command, if the binary is still the one that ran. It refuses (exit
// 2) an agent this command cannot run again, and returns true then.
func (a *agentFlags) replaying(ran *reports.Agent, stdout, stderr io.Writer) (int, bool) {
	switch {
	case ran == nil:
		return 0, false
	case ran.Name == systemAgent:
		fmt.Fprintf(stderr, "syncsim replay: the reported run's agent was a Go function (sim.System), which the syncsim command cannot run; "+
			"replay it from the test that ran it (scenarios/syncsimtest), or give --agent\n")
		return exitUsage, true
	case ran.Command == nil:
		return 0, false
	}
	if err := ran.Command.Unchanged(); err != nil {
		fmt.Fprintf(stderr, "syncsim replay: %v\n", err)
		return exitUsage, true
	}
	a.line, a.binary, a.declared = ran.Command.Line, ran.Command.Binary, ran.Declared
	fmt.Fprintf(stdout, "the reported agent ran as a process: %s (%s, sha256 %.12s); replaying it\n", ran.Command.Line, ran.Command.Binary, ran.Command.SHA256)
	return 0, false
}

// systemAgent is how a report names an agent given as a Go function.
const systemAgent = "system"
