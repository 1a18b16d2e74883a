package sim

import (
	"context"
	"log/slog"
	"strconv"
)

// harnessTime wraps an agent's log handler so every line also carries
// t=<seconds since the run started>, the clock of history.json and the
// reports, next to slog's own wall-clock time: a log line can then be
// found on the timeline, and the timeline's moments in the log. Under
// a WithGroup the attribute lands in the group; the agent uses none.
type harnessTime struct {
	slog.Handler
	now func() int64 // nanoseconds since the run started
}

func (h harnessTime) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(slog.String("t", strconv.FormatFloat(float64(h.now())/1e9, 'f', 3, 64)))
	return h.Handler.Handle(ctx, r)
}

func (h harnessTime) WithAttrs(attrs []slog.Attr) slog.Handler {
	return harnessTime{h.Handler.WithAttrs(attrs), h.now}
}

func (h harnessTime) WithGroup(name string) slog.Handler {
	return harnessTime{h.Handler.WithGroup(name), h.now}
}
