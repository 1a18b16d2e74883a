package sink

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrFenced is what Effect returns, wrapped in an *Error, when the target
// refused the effect because it accepted a newer token on the sync.
var ErrFenced = errors.New("refused: a newer token was accepted on the sync")

// Error is a request the sink refused: Status 409 for a fenced effect
// (errors.Is(err, ErrFenced)), 400 for a request breaking the protocol.
type Error struct {
	Status int
	Reason string
	Newest int64 // on 409, the newest token the target accepted
}

func (e *Error) Error() string { return fmt.Sprintf("sink: %d: %s", e.Status, e.Reason) }

// Is makes a 409 match ErrFenced.
func (e *Error) Is(target error) bool { return target == ErrFenced && e.Status == http.StatusConflict }

// Client reports one agent process's work to the sink. Its requests carry
// Sender; Started carries TokenKind unless the request sets its own.
type Client struct {
	URL       string
	Sender    Sender
	TokenKind TokenKind
	HTTP      *http.Client // nil: a client with a 5 s timeout
}

// NewClient reports as the process env describes, to env.Sink.
func NewClient(env Env, kind TokenKind) *Client {
	return &Client{URL: env.Sink, Sender: Sender{Agent: env.Agent, Incarnation: env.Incarnation}, TokenKind: kind}
}

var defaultHTTP = &http.Client{Timeout: 5 * time.Second}

// Started reports a worker's start and returns the number the sink gave it.
func (c *Client) Started(ctx context.Context, r Started) (worker int, err error) {
	r.Sender = c.Sender
	if r.TokenKind == "" {
		r.TokenKind = c.TokenKind
	}
	reply, err := c.post(ctx, PathStarted, r)
	return reply.Worker, err
}

// Effect reports a write to the target; an error wrapping ErrFenced means
// the target refused it.
func (c *Client) Effect(ctx context.Context, r Effect) error {
	r.Sender = c.Sender
	_, err := c.post(ctx, PathEffect, r)
	return err
}

// Stopped reports that a worker makes no effect any more.
func (c *Client) Stopped(ctx context.Context, r Stopped) error {
	r.Sender = c.Sender
	_, err := c.post(ctx, PathStopped, r)
	return err
}

// Leader reports a step in the agent's leadership.
func (c *Client) Leader(ctx context.Context, r Leader) error {
	r.Sender = c.Sender
	_, err := c.post(ctx, PathLeader, r)
	return err
}

func (c *Client) post(ctx context.Context, path string, body any) (Reply, error) {
	var reply Reply
	data, err := json.Marshal(body)
	if err != nil {
		return reply, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(data))
	if err != nil {
		return reply, err
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return reply, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return reply, err
	}
	if jsonErr := json.Unmarshal(raw, &reply); jsonErr != nil && resp.StatusCode == http.StatusOK {
		return reply, fmt.Errorf("sink: answer to %s is not JSON: %w", path, jsonErr)
	}
	if resp.StatusCode != http.StatusOK {
		return reply, &Error{Status: resp.StatusCode, Reason: cmp.Or(reply.Error, strings.TrimSpace(string(raw))), Newest: reply.Newest}
	}
	return reply, nil
}
