package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/syncsim/syncsim/agent/sink"
)

// SinkSyncer is a stand-in sync for an agent run as a process by the
// syncsim harness: every Every it writes the next position to the sync's
// target, which the harness's sink plays, carrying the fencing token, then
// commits that position as the checkpoint. It reports its start and stop to
// the sink too (docs/agent-protocol.md).
type SinkSyncer struct {
	Client *sink.Client
	Every  time.Duration
	Logger *slog.Logger
}

// stopReportLimit bounds the stop report, sent after ctx ended: it must fit
// well inside the agent's StopTimeout (TTL/4, 750 ms at a 3 s TTL).
const stopReportLimit = 500 * time.Millisecond

// Run reports the start, writes and commits until ctx ends, then reports
// the stop. Once the target refuses its token it writes nothing more.
func (s SinkSyncer) Run(ctx context.Context, w *Work) error {
	pos, err := parseSinkCheckpoint(w.Checkpoint)
	if err != nil {
		return err
	}
	log := s.Logger.With("sync", w.Sync, "token", w.Token)
	if _, err := s.Client.Started(ctx, sink.Started{Sync: w.Sync, Token: w.Token, TokenKind: sink.Revision, Position: pos}); err != nil {
		return fmt.Errorf("report the start of %s to the sink: %w", w.Sync, err)
	}
	defer s.reportStop(ctx, w, log)
	log.Info("working", "from", pos)
	tick := time.NewTicker(s.Every)
	defer tick.Stop()
	for fenced := false; ; {
		select {
		case <-ctx.Done():
			log.Info("stopped", "at", pos)
			return nil
		case <-tick.C:
		}
		if fenced {
			continue // wait to be stopped
		}
		next, err := s.step(ctx, w, pos)
		fenced = errors.Is(err, sink.ErrFenced) || errors.Is(err, ErrFenced)
		switch {
		case err == nil:
			pos = next
		case fenced:
			log.Warn("fenced: writing nothing more; waiting to be stopped", "err", err)
		default:
			log.Warn("step not confirmed; will retry", "err", err)
		}
	}
}

// reportStop tells the sink the worker stopped; ctx has ended by now.
func (s SinkSyncer) reportStop(ctx context.Context, w *Work, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopReportLimit)
	defer cancel()
	if err := s.Client.Stopped(ctx, sink.Stopped{Sync: w.Sync, Token: w.Token}); err != nil {
		log.Error("cannot report the stop to the sink", "err", err)
	}
}

// step writes position pos+1 to the target, then commits it.
func (s SinkSyncer) step(ctx context.Context, w *Work, pos int64) (int64, error) {
	next := pos + 1
	if err := s.Client.Effect(ctx, sink.Effect{Sync: w.Sync, Token: w.Token, Position: next}); err != nil {
		return pos, err
	}
	return next, w.Commit(ctx, []byte(sinkCheckpoint(next, w.Token)))
}

// sinkCheckpoint is the checkpoint SinkSyncer commits: "N@TOKEN", the
// harness's own checkpoint format, so the checks of etcd's log read it.
func sinkCheckpoint(pos, token int64) string { return fmt.Sprintf("%d@%d", pos, token) }

// parseSinkCheckpoint reads the position of a sinkCheckpoint; nil is 0.
func parseSinkCheckpoint(cp []byte) (int64, error) {
	if len(cp) == 0 {
		return 0, nil
	}
	n, _, _ := strings.Cut(string(cp), "@")
	pos, err := strconv.ParseInt(n, 10, 64)
	if err != nil || pos < 0 {
		return 0, fmt.Errorf("checkpoint %q is not POSITION@TOKEN", cp)
	}
	return pos, nil
}
