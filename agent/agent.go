package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/syncsim/syncsim/agent/layout"
)

// Syncer performs one sync. Production users implement it with their real
// sync; for CDC: read the source from Work.Checkpoint, write the target, and
// Commit each new source position.
type Syncer interface {
	// Run works on the sync until ctx is cancelled, then returns promptly.
	// Every side effect must have stopped when Run returns: the agent hands
	// the sync to another agent only after that.
	Run(ctx context.Context, w *Work) error
}

// Work is one claimed sync handed to a Syncer.
type Work struct {
	Sync       string
	Definition []byte
	// Token is the fencing token: the create revision of the claim. Side
	// effects outside etcd should carry it so a stale owner's are refused.
	Token int64
	// Checkpoint is the last committed checkpoint, nil when there is none.
	Checkpoint []byte

	commit func(ctx context.Context, checkpoint []byte) error
}

// NewWork builds the Work for another agent implementation that hands
// claimed syncs to a Syncer (such as the harness's); commit must store the
// checkpoint only while the claim with token is current.
func NewWork(sync string, definition []byte, token int64, checkpoint []byte, commit func(ctx context.Context, checkpoint []byte) error) *Work {
	return &Work{Sync: sync, Definition: definition, Token: token, Checkpoint: checkpoint, commit: commit}
}

// Commit stores checkpoint if and only if this claim is still current and
// nothing else was stored since the last commit it saw. It returns ErrFenced
// when the claim is gone (another agent may own the sync), an error
// wrapping ErrNotStored when an earlier commit landed late (commit again),
// and an error wrapping ErrUnknownOutcome when etcd did not answer, in which
// case the checkpoint may or may not have been stored. Calls for one Work
// are serialised.
func (w *Work) Commit(ctx context.Context, checkpoint []byte) error {
	return w.commit(ctx, checkpoint)
}

var (
	// ErrFenced reports that an effect was refused because this agent no
	// longer holds the claim or no longer trusts its lease.
	ErrFenced = errors.New("fenced: the claim is no longer held")
	// ErrUnknownOutcome reports that a write may or may not have taken effect.
	ErrUnknownOutcome = errors.New("outcome unknown")
	// ErrNotStored reports that a commit definitely did not take effect
	// (an earlier one of this claim landed late); commit again.
	ErrNotStored = errors.New("checkpoint not stored")
	// ErrDuplicateID reports that a live agent already runs under this id.
	ErrDuplicateID = errors.New("agent id already registered by a live agent")
	// ErrWorkerStuck reports that a Syncer did not return after its context
	// was cancelled. The agent stops without releasing the claim: the lease
	// expires and fences the sync; the process should exit.
	ErrWorkerStuck = errors.New("a worker did not stop")
)

// DefaultPrefix is the key prefix when none is configured.
const DefaultPrefix = "/syncagent/"

// Config configures an agent. Client, ID and Syncer are required.
type Config struct {
	Client *clientv3.Client
	// Prefix is the key prefix everything lives under; default DefaultPrefix.
	Prefix string
	// ID names the agent; at most one live agent per ID.
	ID string
	// LeaseTTL is rounded up to whole seconds (etcd's granularity); default 10s.
	LeaseTTL time.Duration
	// SafetyMargin is how long before the earliest possible lease expiry the
	// agent stops its workers. It must exceed the time a worker takes to
	// stop; default LeaseTTL/4.
	SafetyMargin time.Duration
	// StopTimeout bounds how long a worker may take to stop; default SafetyMargin.
	StopTimeout time.Duration
	// RequestTimeout bounds every etcd request; default LeaseTTL/3.
	RequestTimeout time.Duration
	Syncer         Syncer
	// Observer receives every event; nil means none.
	Observer Observer
	Logger   *slog.Logger
	// Alive, when set, is called each time the agent's control loops turn
	// (registering, keeping the lease alive): while Run runs, at least once
	// every two LeaseTTLs (with the default StopTimeout), whether or not
	// etcd answers. A liveness probe watches it; events cannot serve, as
	// none happen during an outage.
	Alive func()
}

// Validate reports whether the ID and the timings can work, before anything
// connects; Run checks them too, and that Client and Syncer are set.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	if err := layout.ValidName("agent id", c.ID); err != nil {
		return c, fmt.Errorf("agent: Config.ID: %w", err)
	}
	c.Prefix = withSlash(cmp.Or(c.Prefix, DefaultPrefix))
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 10 * time.Second
	}
	c.LeaseTTL = c.LeaseTTL.Round(time.Second)
	if c.LeaseTTL < time.Second {
		c.LeaseTTL = time.Second
	}
	if c.SafetyMargin <= 0 {
		c.SafetyMargin = c.LeaseTTL / 4
	}
	if c.SafetyMargin >= c.LeaseTTL*2/3 {
		return c, fmt.Errorf("agent: SafetyMargin %v must be below two thirds of LeaseTTL %v, or keepalives (every TTL/3) cannot keep the agent trusted", c.SafetyMargin, c.LeaseTTL)
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = c.SafetyMargin
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = c.LeaseTTL / 3
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Logger = c.Logger.With("agent", c.ID)
	if c.Alive == nil {
		c.Alive = func() {}
	}
	return c, nil
}

// Run runs the agent until ctx is cancelled, then stops its workers, releases
// its claims, resigns and revokes its lease. When its lease is lost or can no
// longer be trusted, the agent stops all work and starts a new incarnation
// with a new lease. It returns nil after a graceful stop, or an error wrapping
// ErrDuplicateID or ErrWorkerStuck.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Client == nil {
		return errors.New("agent: Config.Client is required")
	}
	if cfg.Syncer == nil {
		return errors.New("agent: Config.Syncer is required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	// Every request, watch and keepalive requires the member it reaches to
	// have a raft leader. A member cut off from its peers but still
	// reachable would otherwise hold each request until its deadline; with
	// this it refuses at once ("no leader") and the retry reaches another
	// member. Without it, exploration found a fleet stalled for 12 s
	// behind one partitioned follower: every multi-request step (register,
	// campaign, claim) had a request land there.
	ctx = clientv3.WithRequireLeader(ctx)
	k := keys{cfg.Prefix}
	var previous clientv3.LeaseID
	retry := backoff{min: 100 * time.Millisecond, max: cfg.LeaseTTL}
	for ctx.Err() == nil {
		cfg.Alive()
		inc, err := register(ctx, cfg, k, previous)
		if err != nil {
			if errors.Is(err, ErrDuplicateID) {
				return err
			}
			if ctx.Err() == nil {
				cfg.Logger.Warn("cannot register; retrying", "err", err, "in", retry.next())
				retry.sleep(ctx)
			}
			continue
		}
		retry.reset()
		previous = inc.lease
		if err := inc.run(ctx); err != nil {
			return err
		}
	}
	return nil
}

// backoff doubles a delay from min to max.
type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	}
	return b.cur
}

func (b *backoff) sleep(ctx context.Context) {
	sleep(ctx, b.next())
	b.cur = min(2*b.cur, b.max)
}

func (b *backoff) reset() { b.cur = 0 }

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
