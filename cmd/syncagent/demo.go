package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/syncsim/syncsim/agent"
)

// demoSyncer stands in for a real sync so the binary does something visible:
// it "reads" one position per tick and commits it as the checkpoint. A real
// Syncer reads its source from Work.Checkpoint and writes its target,
// carrying Work.Token so the target can refuse a stale owner.
type demoSyncer struct {
	every  time.Duration
	logger *slog.Logger
}

func (d demoSyncer) Run(ctx context.Context, w *agent.Work) error {
	pos, _ := strconv.Atoi(string(w.Checkpoint))
	log := d.logger.With("sync", w.Sync, "token", w.Token)
	log.Info("working", "from", pos, "definition", string(w.Definition))
	tick := time.NewTicker(d.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("stopped", "at", pos)
			return nil
		case <-tick.C:
		}
		err := w.Commit(ctx, []byte(strconv.Itoa(pos+1)))
		switch {
		case err == nil:
			pos++ // the agent logs each commit at debug level
		case errors.Is(err, agent.ErrFenced):
			log.Warn("commit refused: the claim is gone; waiting to be stopped")
		default:
			log.Warn("commit not confirmed; will retry", "err", err)
		}
	}
}
