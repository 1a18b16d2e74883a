// Command syncagent runs the sync agent against a real etcd, and lets an
// operator add, remove and list syncs.
//
//	syncagent run --endpoints 127.0.0.1:2379 --id host-1
//	syncagent syncs add orders '{"source":"pg://…","target":"s3://…"}'
//	syncagent syncs ls
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/layout"
	"github.com/syncsim/syncsim/agent/metrics"
	"github.com/syncsim/syncsim/cmd/internal/cliflag"
)

const usage = `usage: syncagent <command> [flags]

commands:
  run                         run an agent until SIGTERM or SIGINT
  syncs add NAME [DEFINITION] add or replace a sync (DEFINITION is a JSON object; default {"name":NAME})
  syncs rm NAME               remove a sync
  syncs ls                    list syncs with their assignment, claim and checkpoint
  version                     print the module version, commit and Go toolchain

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
	case "version":
		return version(args[1:], stdout, stderr)
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

// check rejects flag values no connection could use.
func (c *connection) check() error {
	for _, ep := range strings.Split(c.endpoints, ",") {
		if strings.TrimSpace(ep) == "" {
			return fmt.Errorf("--endpoints %q has an empty endpoint; give host:port or https://host:port, comma-separated", c.endpoints)
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
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := agent.Config{
		Prefix: conn.prefix, ID: *id,
		LeaseTTL: *ttl, SafetyMargin: *margin,
		Syncer: demoSyncer{every: *demoEvery, logger: logger},
		Logger: logger,
	}
	if err := checkRunFlags(conn, cfg, *demoEvery); err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 2
	}

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
	cfg.Client, cfg.Observer = client, obs
	if err := agent.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 1
	}
	logger.Info("stopped gracefully")
	return 0
}

// checkRunFlags rejects what run's flags cannot mean, before connecting.
func checkRunFlags(conn connection, cfg agent.Config, demoEvery time.Duration) error {
	if err := conn.check(); err != nil {
		return err
	}
	if cfg.LeaseTTL < time.Second || cfg.LeaseTTL%time.Second != 0 {
		return fmt.Errorf("--lease-ttl %v must be whole seconds, at least 1s", cfg.LeaseTTL)
	}
	if cfg.SafetyMargin < 0 || demoEvery <= 0 {
		return fmt.Errorf("--safety-margin %v must not be negative and --demo-every %v must be positive", cfg.SafetyMargin, demoEvery)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w (flags --id, --lease-ttl, --safety-margin)", err)
	}
	return nil
}

// handshakeTries is how many failed TLS handshakes make start-up give up:
// one may be a server restarting, three are a misconfiguration.
const handshakeTries = 3

// connect retries with backoff while etcd is unreachable, and a few times
// when the TLS handshake fails; any other error (wrong credentials, bad TLS
// files) ends it at once.
func connect(ctx context.Context, cfg agent.ClientConfig, logger *slog.Logger) (*clientv3.Client, error) {
	wait := 500 * time.Millisecond
	for handshakes := 0; ; {
		client, err := agent.NewClient(cfg)
		switch {
		case err == nil || ctx.Err() != nil:
			return client, err
		case errors.Is(err, agent.ErrTLSHandshake):
			if handshakes++; handshakes >= handshakeTries {
				return nil, fmt.Errorf("%w; gave up after %d tries", err, handshakes)
			}
			logger.Warn("TLS handshake with etcd failed; retrying", "err", err, "in", wait, "failed", handshakes, "of", handshakeTries)
		case errors.Is(err, agent.ErrUnreachable):
			logger.Warn("etcd unreachable; retrying", "err", err, "in", wait)
		default:
			return nil, err
		}
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
	if err := checkSyncArgs(conn, verb, pos); err != nil {
		fmt.Fprintf(stderr, "syncagent syncs %s: %v\n", verb, err)
		return 2
	}
	var name, def string
	if len(pos) > 0 {
		name, def = pos[0], defaultDefinition(pos[0])
	}
	if len(pos) > 1 {
		def = pos[1]
	}
	client, err := agent.NewClient(conn.config())
	if err != nil {
		fmt.Fprintf(stderr, "syncagent syncs %s: %v\n", verb, err)
		return 2
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(ctx, conn.requestTimeout)
	defer cancel()
	if err := operate(ctx, client, conn.prefix, verb, name, def, stdout); err != nil {
		fmt.Fprintf(stderr, "syncagent syncs %s: %v\n", verb, err)
		return 1
	}
	return 0
}

// operate does what verb asks of etcd.
func operate(ctx context.Context, client *clientv3.Client, prefix, verb, name, def string, stdout io.Writer) error {
	switch verb {
	case "add":
		return agent.AddSync(ctx, client, prefix, name, def)
	case "rm":
		return agent.RemoveSync(ctx, client, prefix, name)
	}
	list, err := agent.ListSyncs(ctx, client, prefix)
	if err == nil {
		printSyncs(stdout, list)
	}
	return err
}

// checkSyncArgs rejects a bad connection flag, an add's bad sync name or
// definition, before connecting. rm takes any name, so that a sync another
// client created under a bad name can still be removed.
func checkSyncArgs(conn connection, verb string, pos []string) error {
	if err := conn.check(); err != nil {
		return err
	}
	if verb != "add" {
		return nil
	}
	if err := layout.ValidName("sync name", pos[0]); err != nil {
		return err
	}
	if len(pos) > 1 {
		return agent.ValidDefinition([]byte(pos[1]))
	}
	return nil
}

// defaultDefinition is {"name":NAME}, built by encoding/json: Go's %q
// escapes differently from JSON.
func defaultDefinition(name string) string {
	def, _ := json.Marshal(map[string]string{"name": name})
	return string(def)
}

// printSyncs prints the table of syncs. Every field is shown by cell, so
// what another client wrote into etcd cannot forge rows or columns.
func printSyncs(w io.Writer, list []agent.SyncStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SYNC\tASSIGNED\tCLAIMED BY\tTOKEN\tCHECKPOINT")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", cell(s.Name), cell(s.AssignedTo), cell(s.ClaimedBy), s.Token, cell(s.Checkpoint))
	}
	tw.Flush()
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
