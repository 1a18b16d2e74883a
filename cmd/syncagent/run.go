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
	"slices"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/agent/metrics"
	"github.com/syncsim/syncsim/agent/sink"
)

const runAbout = `Runs an agent until SIGTERM or SIGINT. At --metrics-addr it serves:
  /metrics  Prometheus metrics
  /livez    liveness: 200 while the agent's loops turn, also while etcd is
            unreachable, so an etcd outage restarts no pod
  /readyz   readiness: 200 while the agent holds a lease it trusts
  /healthz  the same as /readyz, kept for compatibility
$SYNCAGENT_ENDPOINTS and $SYNCAGENT_PASSWORD stand in for --endpoints and
--password when those flags are not given.
`

// runFlags are the flags of run, all in one place.
type runFlags struct {
	conn        connection
	id          string
	ttl, margin time.Duration
	metricsAddr string
	demoEvery   time.Duration
	syncer      string       // --syncer
	sink        *sink.Client // set for --syncer sink
	logFormat   string
	logLevel    slog.Level
}

// logHandlers are the values of --log-format.
var logHandlers = map[string]func(io.Writer, *slog.HandlerOptions) slog.Handler{
	"text": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) },
	"json": func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) },
}

func (f *runFlags) register(fs *flag.FlagSet) {
	f.conn.register(fs)
	host, _ := os.Hostname()
	fs.StringVar(&f.id, "id", host, "this agent's id; at most one live agent per id")
	fs.DurationVar(&f.ttl, "lease-ttl", 10*time.Second, "lease TTL, whole seconds")
	fs.DurationVar(&f.margin, "safety-margin", 0, "stop work this long before the lease could expire (default lease-ttl/4)")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9464", "address for /metrics, /livez, /readyz and /healthz (empty: none)")
	fs.DurationVar(&f.demoEvery, "demo-every", time.Second, "how often the demo syncer advances and commits")
	fs.StringVar(&f.syncer, "syncer", "demo", "the sync to run: demo, or sink under the syncsim harness (docs/agent-protocol.md), which\nwrites each step to the harness's sink; $SYNCSIM_* then supply --endpoints, --prefix, --id and\n--lease-ttl, and --metrics-addr defaults to none")
	fs.StringVar(&f.logFormat, "log-format", "text", "log `format`, to stderr: text or json")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "least `level` logged: debug, info, warn or error; debug adds a line per checkpoint commit")
}

// check rejects what run's flags cannot mean, before connecting.
func (f *runFlags) check() error {
	if err := f.conn.check(); err != nil {
		return err
	}
	if f.ttl < time.Second || f.ttl%time.Second != 0 {
		return fmt.Errorf("--lease-ttl %v must be whole seconds, at least 1s", f.ttl)
	}
	if f.margin < 0 || f.demoEvery <= 0 {
		return fmt.Errorf("--safety-margin %v must not be negative and --demo-every %v must be positive", f.margin, f.demoEvery)
	}
	if !slices.Contains(syncers, f.syncer) {
		return fmt.Errorf("--syncer %q: use demo or sink", f.syncer)
	}
	if logHandlers[f.logFormat] == nil {
		return fmt.Errorf("--log-format %q: use text or json", f.logFormat)
	}
	if err := f.config().Validate(); err != nil {
		return fmt.Errorf("%w (flags --id, --lease-ttl, --safety-margin)", err)
	}
	return nil
}

// config is the agent's configuration as far as flags say.
func (f *runFlags) config() agent.Config {
	return agent.Config{Prefix: f.conn.prefix, ID: f.id, LeaseTTL: f.ttl, SafetyMargin: f.margin}
}

func (f *runFlags) logger(w io.Writer) *slog.Logger {
	return slog.New(logHandlers[f.logFormat](w, &slog.HandlerOptions{Level: f.logLevel}))
}

func (f *runFlags) newSyncer(logger *slog.Logger) agent.Syncer {
	if f.sink != nil {
		return agent.SinkSyncer{Client: f.sink, Every: f.demoEvery, Logger: logger}
	}
	return demoSyncer{every: f.demoEvery, logger: logger}
}

// livePeriod is how long the agent's loops may stay silent before /livez
// fails. Running, they turn at least every two lease TTLs; connecting, every
// lease TTL plus one attempt, which waits up to two dial timeouts and, with
// TLS, one more per endpoint. Twice the longer leaves room for a slow host.
func (f *runFlags) livePeriod() time.Duration {
	attempt := time.Duration(2+len(f.conn.config().Endpoints)) * f.conn.dialTimeout
	return 2 * max(2*f.ttl, f.ttl+attempt)
}

func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "run [flags]", runAbout, stderr)
	var f runFlags
	f.register(fs)
	extra, err := parse(fs, args, stdout)
	if err != nil {
		return usageExit(err)
	}
	if len(extra) > 0 {
		fmt.Fprintf(stderr, "syncagent run: unexpected argument %q\n", extra[0])
		return 2
	}
	if f.syncer == "sink" {
		if f.sink, err = fromSink(fs, os.Getenv); err != nil {
			fmt.Fprintf(stderr, "syncagent run: %v\n", err)
			return 2
		}
	}
	f.conn.fromEnv(fs)
	if err := f.check(); err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 2
	}
	logger := f.logger(stderr)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	obs := metrics.New(reg)
	if f.metricsAddr != "" {
		stop, err := serve(f.metricsAddr, reg, obs, f.livePeriod(), logger)
		if err != nil {
			fmt.Fprintf(stderr, "syncagent run: %v\n", err)
			return 2
		}
		defer stop()
	}

	client, err := connect(ctx, f.conn.config(), f.ttl, obs.Alive, logger)
	if err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 2
	}
	defer client.Close()
	cfg := f.config()
	cfg.Client, cfg.Syncer, cfg.Observer, cfg.Logger, cfg.Alive = client, f.newSyncer(logger), obs, logger, obs.Alive
	if f.sink != nil {
		leads := reportLeadership(f.sink, obs)
		defer leads.close(time.Second)
		cfg.Observer = leads
	}
	if err := agent.Run(ctx, cfg); err != nil {
		fmt.Fprintf(stderr, "syncagent run: %v\n", err)
		return 1
	}
	logger.Info("stopped gracefully")
	return 0
}

// serve serves the metrics and the probes at addr until stop is called.
func serve(addr string, reg *prometheus.Registry, obs *metrics.Observer, livePeriod time.Duration, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("cannot serve metrics at %s: the address is already in use, perhaps by another syncagent; "+
			"choose another address with --metrics-addr, or give --metrics-addr= to serve none", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/livez", obs.Livez(livePeriod))
	mux.Handle("/readyz", obs.Readyz())
	mux.Handle("/healthz", obs.Readyz()) // what syncagent served before /readyz
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	logger.Info("serving metrics and probes", "url", "http://"+ln.Addr().String()+"/metrics", "livez_fails_after", livePeriod)
	return func() { srv.Close() }, nil
}

// handshakeTries is how many failed TLS handshakes make start-up give up:
// one may be a server restarting, three are a misconfiguration.
const handshakeTries = 3

// connect retries with backoff, up to maxWait between tries, while etcd is
// unreachable, and a few times when the TLS handshake fails; any other
// error (wrong credentials, bad TLS files) ends it at once. It calls alive
// on every try, as the agent's loops do once it runs.
func connect(ctx context.Context, cfg agent.ClientConfig, maxWait time.Duration, alive func(), logger *slog.Logger) (*clientv3.Client, error) {
	wait := min(500*time.Millisecond, maxWait)
	for handshakes := 0; ; {
		alive()
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
		wait = min(2*wait, maxWait)
	}
}
