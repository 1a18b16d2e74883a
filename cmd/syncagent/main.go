// Command syncagent runs the sync agent against a real etcd, and lets an
// operator add, remove and list syncs and see the live agents.
//
//	syncagent run --endpoints 127.0.0.1:2379 --id host-1
//	syncagent syncs add orders '{"source":"pg://…","target":"s3://…"}'
//	syncagent syncs ls -o json
//	syncagent agents ls
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/cmd/internal/cliflag"
)

const usage = `usage: syncagent <command> [flags]

commands:
  run                         run an agent until SIGTERM or SIGINT
  syncs add NAME [DEFINITION] add or replace a sync (DEFINITION is a JSON object; default {"name":NAME})
  syncs rm NAME               remove a sync
  syncs ls [-o json]          list syncs with their assignment, claim and checkpoint
  agents ls [-o json]         list live agents, the leader and how many syncs each runs
  version                     print the module version, commit and Go toolchain

Every command but version reaches etcd at --endpoints; when that flag is not
given, at $SYNCAGENT_ENDPOINTS, else at 127.0.0.1:2379.
Run 'syncagent <command> -h' for its flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return runAgent(ctx, args[1:], stdout, stderr)
	case "syncs":
		return syncsCommand.run(ctx, args[1:], stdout, stderr)
	case "agents":
		return agentsCommand.run(ctx, args[1:], stdout, stderr)
	case "version":
		return version(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "syncagent: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// connection holds the flags every command needs to reach etcd.
type connection struct {
	endpoints, prefix           string
	cacert, cert, key           string
	user, password              string
	dialTimeout, requestTimeout time.Duration
	// endpointsFrom names where endpoints came from, for errors.
	endpointsFrom string
}

// connectionEnv lists the variables that stand in for flags not given.
// They are read after parsing rather than made flag defaults, so that
// help, which prints defaults, never prints a password.
var connectionEnv = []struct{ flag, env string }{
	{"endpoints", "SYNCAGENT_ENDPOINTS"},
	{"password", "SYNCAGENT_PASSWORD"},
}

func (c *connection) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoints, "endpoints", "127.0.0.1:2379", "comma-separated etcd `endpoints`; this flag wins over $SYNCAGENT_ENDPOINTS, which wins over the default")
	fs.StringVar(&c.prefix, "prefix", agent.DefaultPrefix, "key prefix the agents share")
	fs.StringVar(&c.cacert, "cacert", "", "CA certificate file to verify etcd (enables TLS)")
	fs.StringVar(&c.cert, "cert", "", "client certificate file (enables TLS; needs --key)")
	fs.StringVar(&c.key, "key", "", "client key file")
	fs.StringVar(&c.user, "user", "", "etcd user name")
	fs.StringVar(&c.password, "password", "", "etcd password; this flag wins over $SYNCAGENT_PASSWORD")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 5*time.Second, "how long to wait for etcd on each connection attempt")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 5*time.Second, "bound on each operator request")
	c.endpointsFrom = "--endpoints"
}

// fromEnv sets each flag of connectionEnv that the command line did not
// give from its variable, if that is set and not empty.
func (c *connection) fromEnv(fs *flag.FlagSet) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, e := range connectionEnv {
		if v := os.Getenv(e.env); v != "" && !given[e.flag] {
			fs.Set(e.flag, v) // a string flag takes any value
			if e.flag == "endpoints" {
				c.endpointsFrom = "$" + e.env
			}
		}
	}
}

// check rejects flag values no connection could use.
func (c *connection) check() error {
	for _, ep := range strings.Split(c.endpoints, ",") {
		if strings.TrimSpace(ep) == "" {
			return fmt.Errorf("%s %q has an empty endpoint; give host:port or https://host:port, comma-separated", c.endpointsFrom, c.endpoints)
		}
	}
	if c.dialTimeout <= 0 || c.requestTimeout <= 0 {
		return fmt.Errorf("--dial-timeout %v and --request-timeout %v must be positive", c.dialTimeout, c.requestTimeout)
	}
	// TLS files are read now, so a bad one is refused before anything
	// starts (the metrics server, a log line saying it serves).
	return c.config().Check()
}

func (c *connection) config() agent.ClientConfig {
	return agent.ClientConfig{
		Endpoints: strings.Split(c.endpoints, ","),
		CACert:    c.cacert, Cert: c.cert, Key: c.key,
		Username: c.user, Password: c.password,
		DialTimeout: c.dialTimeout,
	}
}

// newFlags makes the flag set of a command; its usage prints the synopsis,
// what the command does, and its flags.
func newFlags(name, synopsis, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: syncagent %s\n\n%s\nflags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args with fs, flags anywhere among the arguments. Help
// asked for (-h, --help) is printed to stdout and returned as flag.ErrHelp;
// a bad flag is printed to fs's output (stderr) with the usage.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	stderr := fs.Output()
	var printed bytes.Buffer
	fs.SetOutput(&printed)
	pos, err := cliflag.Parse(fs, args)
	fs.SetOutput(stderr)
	if errors.Is(err, flag.ErrHelp) {
		stderr = stdout
	}
	io.Copy(stderr, &printed)
	return pos, err
}

// usageExit is the exit status after parse failed: 0 for help, else 2.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
