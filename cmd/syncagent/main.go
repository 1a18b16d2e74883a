// Command syncagent runs the sync agent against a real etcd, and lets an
// operator add, remove and list syncs.
//
//	syncagent run --endpoints 127.0.0.1:2379 --id host-1
//	syncagent syncs add orders '{"source":"pg://…","target":"s3://…"}'
//	syncagent syncs ls
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/metrics"
	"github.com/syncsim/syncsim/cmd/internal/cliflag"
)

const usage = `usage: syncagent <command> [flags]

commands:
  run                         run an agent until SIGTERM or SIGINT
  syncs add NAME [DEFINITION] add or replace a sync (DEFINITION is a JSON object; default {"name":NAME})
  syncs rm NAME               remove a sync
  syncs ls                    list syncs with their assignment, claim and checkpoint

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
		return runAgent(ctx, args[1:], stderr)
	case "syncs":
		return syncs(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
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
}

func (c *connection) register(fs *flag.FlagSet) {
	fs.StringVar(&c.endpoints, "endpoints", "127.0.0.1:2379", "comma-separated etcd endpoints")
	fs.StringVar(&c.prefix, "prefix", agent.DefaultPrefix, "key prefix the agents share")
	fs.StringVar(&c.cacert, "cacert", "", "CA certificate file to verify etcd (enables TLS)")
	fs.StringVar(&c.cert, "cert", "", "client certificate file (enables TLS; needs --key)")
	fs.StringVar(&c.key, "key", "", "client key file")
	fs.StringVar(&c.user, "user", "", "etcd user name")
	fs.StringVar(&c.password, "password", os.Getenv("SYNCAGENT_PASSWORD"), "etcd password (default $SYNCAGENT_PASSWORD)")
	fs.DurationVar(&c.dialTimeout, "dial-timeout", 5*time.Second, "how long to wait for etcd on each connection attempt")
	fs.DurationVar(&c.requestTimeout, "request-timeout", 5*time.Second, "bound on each operator request")
}

func (c *connection) config() agent.ClientConfig {
	return agent.ClientConfig{
		Endpoints: strings.Split(c.endpoints, ","),
		CACert:    c.cacert, Cert: c.cert, Key: c.key,
		Username: c.user, Password: c.password,
		DialTimeout: c.dialTimeout,
	}
}

func newFlags(name string, stderr io.Writer, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: syncagent %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func runAgent(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newFlags("run", stderr, "run [flags]")
	var conn connection
	conn.register(fs)
	host, _ := os.Hostname()
	id := fs.String("id", host, "this agent's id; at most one live agent per id")
	ttl := fs.Duration("lease-ttl", 10*time.Second, "lease TTL, whole seconds")
	margin := fs.Duration("safety-margin", 0, "stop work this long before the lease could expire (default lease-ttl/4)")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "address for /metrics and /healthz (empty: none)")
	demoEvery := fs.Duration("demo-every", time.Second, "how often the demo syncer advances and commits")
	extra, err := cliflag.Parse(fs, args)
	if err != nil {
		return 2
	}
	if len(extra) > 0 {
		fmt.Fprintf(stderr, "syncagent run: unexpected argument %q\n", extra[0])
		return 2
	}
	if *ttl < time.Second || *ttl%time.Second != 0 {
		fmt.Fprintf(stderr, "syncagent run: --lease-ttl %v must be whole seconds, at least 1s\n", *ttl)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := metrics.New(reg)
	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "syncagent run: --metrics-addr: %v\n", err)
			return 2
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("/healthz", obs)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		logger.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}

	client, err := connect(ctx, conn.config(), logger)
	if err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 2
	}
	defer client.Close()
	err = agent.Run(ctx, agent.Config{
		Client: client, Prefix: conn.prefix, ID: *id,
		LeaseTTL: *ttl, SafetyMargin: *margin,
		Syncer:   demoSyncer{every: *demoEvery, logger: logger},
		Observer: obs,
		Logger:   logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 1
	}
	logger.Info("stopped gracefully")
	return 0
}

// connect retries with backoff while etcd is unreachable; any other error
// (wrong credentials, bad TLS files) ends it at once.
func connect(ctx context.Context, cfg agent.ClientConfig, logger *slog.Logger) (*clientv3.Client, error) {
	wait := 500 * time.Millisecond
	for {
		client, err := agent.NewClient(cfg)
		if !errors.Is(err, agent.ErrUnreachable) || ctx.Err() != nil {
			return client, err
		}
		logger.Warn("etcd unreachable; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func syncs(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	verb := args[0]
	fs := newFlags("syncs "+verb, stderr, "syncs add|rm|ls [flags] [NAME] [DEFINITION]")
	var conn connection
	conn.register(fs)
	pos, err := cliflag.Parse(fs, args[1:])
	if err != nil {
		return 2
	}
	arity, known := map[string][2]int{"add": {1, 2}, "rm": {1, 1}, "ls": {0, 0}}[verb]
	if !known {
		fmt.Fprintf(stderr, "syncagent syncs: unknown verb %q; use add, rm or ls\n", verb)
		return 2
	}
	if n := len(pos); n < arity[0] || n > arity[1] {
		fs.Usage()
		return 2
	}
	var name, def string
	if len(pos) > 0 {
		name, def = pos[0], fmt.Sprintf(`{"name":%q}`, pos[0])
	}
	if len(pos) > 1 {
		def = pos[1]
	}
	if err := agent.ValidDefinition([]byte(def)); verb == "add" && err != nil {
		fmt.Fprintf(stderr, "syncagent syncs add: %v\n", err)
		return 2
	}
	client, err := agent.NewClient(conn.config())
	if err != nil {
		fmt.Fprintf(stderr, "syncagent syncs %s: %v\n", verb, err)
		return 2
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, conn.requestTimeout)
	defer cancel()
	switch verb {
	case "add":
		err = agent.AddSync(ctx, client, conn.prefix, name, def)
	case "rm":
		err = agent.RemoveSync(ctx, client, conn.prefix, name)
	case "ls":
		var list []agent.SyncStatus
		if list, err = agent.ListSyncs(ctx, client, conn.prefix); err == nil {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SYNC\tASSIGNED\tCLAIMED BY\tTOKEN\tCHECKPOINT")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.Name, dash(s.AssignedTo), dash(s.ClaimedBy), s.Token, dash(s.Checkpoint))
			}
			tw.Flush()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "syncagent syncs %s: %v\n", verb, err)
		return 1
	}
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
