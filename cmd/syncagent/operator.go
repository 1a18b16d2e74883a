package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/layout"
)

// A group is a command made of verbs, such as "syncs add".
type group struct {
	name, about string
	verbs       []verb
}

// A verb is one operator request to etcd.
type verb struct {
	name, args string
	summary    string // one line, for the group's usage
	about      string // for the verb's usage
	min, max   int    // how many arguments it takes
	list       bool   // it takes -o table|json
	// check, if set, rejects arguments before anything connects.
	check func(args []string) error
	do    func(ctx context.Context, c *clientv3.Client, r request) error
}

// request is what a verb is asked to do, and where to say what it did.
type request struct {
	prefix string
	args   []string
	output string // "table" or "json"
	stdout io.Writer
}

var syncsCommand = group{name: "syncs", about: "Adds, removes and lists the syncs the agents share.", verbs: []verb{
	{name: "add", args: "NAME [DEFINITION]", min: 1, max: 2, check: checkAdd, do: addSync,
		summary: "create or replace a sync", about: `Creates or replaces a sync. DEFINITION is a JSON object, default {"name":NAME};
a replaced definition restarts the sync's worker.`},
	{name: "rm", args: "NAME", min: 1, max: 1, do: removeSync,
		summary: "remove a sync", about: "Removes a sync; its owner stops working on it. Any name is taken, so that\na sync an older client created under a bad name can be removed."},
	{name: "ls", list: true, do: listSyncs,
		summary: "list the syncs with their assignment, claim and checkpoint", about: "Lists the syncs with their assignment, claim and checkpoint."},
}}

var agentsCommand = group{name: "agents", about: "Shows the agents that are live in etcd.", verbs: []verb{
	{name: "ls", list: true, do: listAgents,
		summary: "list the live agents, the leader and each one's load", about: "Lists the live agents: which leads, and how many syncs each is assigned and\nholds the claim on (works on)."},
}}

func (g group) usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: syncagent %s <verb> [flags]\n\n%s\n\nverbs:\n", g.name, g.about)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, v := range g.verbs {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(v.name+" "+v.args), v.summary)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun 'syncagent %s <verb> -h' for its flags.\n", g.name)
	return b.String()
}

func (g group) run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, g.usage())
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, g.usage())
		return 0
	}
	var names []string
	for _, v := range g.verbs {
		if v.name == args[0] {
			return v.run(ctx, g.name, args[1:], stdout, stderr)
		}
		names = append(names, v.name)
	}
	fmt.Fprintf(stderr, "syncagent %s: unknown verb %q; use %s, or --help\n", g.name, args[0], strings.Join(names, ", "))
	return 2
}

func (v verb) run(ctx context.Context, group string, args []string, stdout, stderr io.Writer) int {
	command := group + " " + v.name
	synopsis := command + " [flags]"
	if v.args != "" {
		synopsis = command + " " + v.args + " [flags]"
	}
	fs := newFlags(command, synopsis, v.about+"\n", stderr)
	var conn connection
	conn.register(fs)
	output := "table"
	if v.list {
		fs.StringVar(&output, "o", output, "output `format`: table or json")
	}
	pos, err := parse(fs, args, stdout)
	if err != nil {
		return usageExit(err)
	}
	if n := len(pos); n < v.min || n > v.max {
		fs.Usage()
		return 2
	}
	conn.fromEnv(fs)
	if err := v.checkArgs(conn, pos, output); err != nil {
		fmt.Fprintf(stderr, "syncagent %s: %v\n", command, err)
		return 2
	}
	client, err := agent.NewClient(conn.config())
	if err != nil {
		fmt.Fprintf(stderr, "syncagent %s: %v\n", command, err)
		return 2
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, conn.requestTimeout)
	defer cancel()
	if err := v.do(ctx, client, request{prefix: conn.prefix, args: pos, output: output, stdout: stdout}); err != nil {
		fmt.Fprintf(stderr, "syncagent %s: %v\n", command, err)
		return 1
	}
	return 0
}

// checkArgs rejects a bad connection flag, output format or argument
// before connecting.
func (v verb) checkArgs(conn connection, args []string, output string) error {
	if err := conn.check(); err != nil {
		return err
	}
	if output != "table" && output != "json" {
		return fmt.Errorf("-o %q: use table or json", output)
	}
	if v.check != nil {
		return v.check(args)
	}
	return nil
}

// checkAdd rejects a bad sync name or definition. rm has no such check: it
// takes any name.
func checkAdd(args []string) error {
	if err := layout.ValidName("sync name", args[0]); err != nil {
		return err
	}
	if len(args) > 1 {
		return agent.ValidDefinition([]byte(args[1]))
	}
	return nil
}

func addSync(ctx context.Context, c *clientv3.Client, r request) error {
	name, def := r.args[0], defaultDefinition(r.args[0])
	if len(r.args) > 1 {
		def = r.args[1]
	}
	put, err := agent.PutSync(ctx, c, r.prefix, name, def)
	switch {
	case err != nil:
		return err
	case put.Created:
		fmt.Fprintf(r.stdout, "created sync %s at %s\n", name, put.Key)
	case put.Previous == def:
		fmt.Fprintf(r.stdout, "rewrote sync %s at %s with the same definition; its worker restarts\n", name, put.Key)
	default:
		fmt.Fprintf(r.stdout, "replaced sync %s at %s; its worker restarts with the new definition\n", name, put.Key)
	}
	return nil
}

func removeSync(ctx context.Context, c *clientv3.Client, r request) error {
	if err := agent.RemoveSync(ctx, c, r.prefix, r.args[0]); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "removed sync %s\n", cell(r.args[0]))
	return nil
}

func listSyncs(ctx context.Context, c *clientv3.Client, r request) error {
	list, err := agent.ListSyncs(ctx, c, r.prefix)
	if err != nil {
		return err
	}
	return r.show(list, func(tw io.Writer) {
		fmt.Fprintln(tw, "SYNC\tASSIGNED\tCLAIMED BY\tTOKEN\tCHECKPOINT")
		for _, s := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", cell(s.Name), cell(s.AssignedTo), cell(s.ClaimedBy), s.Token, cell(s.Checkpoint))
		}
	})
}

func listAgents(ctx context.Context, c *clientv3.Client, r request) error {
	list, err := agent.ListAgents(ctx, c, r.prefix)
	if err != nil {
		return err
	}
	return r.show(list, func(tw io.Writer) {
		fmt.Fprintln(tw, "AGENT\tROLE\tASSIGNED\tCLAIMED")
		for _, a := range list {
			role := "member"
			if a.Leader {
				role = "leader"
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", cell(a.ID), role, a.Assigned, a.Claimed)
		}
	})
}

// show prints list as a JSON array, or as the table that rows writes to a
// tabwriter. In a table every field is shown by cell, so what another client
// wrote into etcd cannot forge rows or columns; JSON escapes it anyway.
func (r request) show(list any, rows func(io.Writer)) error {
	if r.output == "json" {
		out, err := json.MarshalIndent(list, "", "  ")
		if string(out) == "null" {
			out = []byte("[]") // a nil slice: nothing listed
		}
		if err == nil {
			_, err = fmt.Fprintf(r.stdout, "%s\n", out)
		}
		return err
	}
	tw := tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
	rows(tw)
	return tw.Flush()
}

// defaultDefinition is {"name":NAME}, built by encoding/json: Go's %q
// escapes differently from JSON.
func defaultDefinition(name string) string {
	def, _ := json.Marshal(map[string]string{"name": name})
	return string(def)
}

// maxCell bounds a printed field, so one long value cannot widen every row.
const maxCell = layout.MaxNameLen

// cell is s as one table cell: "-" when empty; quoted with Go escapes when
// it holds anything but printable ASCII other than space, or starts with a
// quote; cut to maxCell bytes with the full length noted.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	shown := s
	if len(s) > maxCell {
		shown = strings.ToValidUTF8(s[:maxCell], "")
	}
	if strings.HasPrefix(shown, `"`) || strings.IndexFunc(shown, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		shown = strconv.QuoteToASCII(shown)
	}
	if len(s) > maxCell {
		shown += fmt.Sprintf("...(%d bytes)", len(s))
	}
	return shown
}
