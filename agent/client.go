package agent

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ClientConfig says how to reach etcd: endpoints, optional TLS files and
// optional user name and password.
type ClientConfig struct {
	Endpoints []string
	// CACert verifies the servers; Cert and Key identify this client. TLS
	// is on when any of them is set.
	CACert, Cert, Key  string
	Username, Password string
	// DialTimeout bounds the first connection; default 5s.
	DialTimeout time.Duration
}

var (
	// ErrCredentials reports that etcd refused the user name and password.
	ErrCredentials = errors.New("etcd refused the credentials")
	// ErrUnreachable reports that no endpoint answered in time; trying
	// again later may succeed.
	ErrUnreachable = errors.New("etcd unreachable")
)

// NewClient connects to etcd. With a user name it authenticates at once,
// so wrong credentials are an error here (wrapping ErrCredentials) rather
// than on the first request.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("no etcd endpoints given")
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return nil, errors.New("a client certificate needs both a certificate file and a key file")
	}
	var tlsConfig *tls.Config
	if cfg.CACert != "" || cfg.Cert != "" {
		info := transport.TLSInfo{TrustedCAFile: cfg.CACert, CertFile: cfg.Cert, KeyFile: cfg.Key}
		var err error
		if tlsConfig, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		TLS:         tlsConfig,
		Username:    cfg.Username,
		Password:    cfg.Password,
		DialTimeout: cmp.Or(cfg.DialTimeout, 5*time.Second),
		Logger:      zap.NewNop(),
	})
	dial := cmp.Or(cfg.DialTimeout, 5*time.Second)
	where := strings.Join(cfg.Endpoints, ",")
	unreachable := func(err error) error {
		return fmt.Errorf("%w: no answer from %s within %v (is it running, and are the TLS settings right?): %v", ErrUnreachable, where, dial, err)
	}
	switch {
	case errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrAuthNotEnabled):
		return nil, fmt.Errorf("%w: user %q at %s: %v", ErrCredentials, cfg.Username, where, err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, unreachable(err)
	case err != nil:
		return nil, fmt.Errorf("connect to etcd at %s: %w", where, err)
	}
	// The connection is made lazily; one request shows whether anyone
	// answers. Any answer, even "permission denied", means etcd is there.
	ctx, cancel := context.WithTimeout(context.Background(), dial)
	defer cancel()
	if _, err := c.Get(ctx, "\x00", clientv3.WithCountOnly()); err != nil && (ctx.Err() != nil || status.Code(err) == codes.Unavailable) {
		c.Close()
		return nil, unreachable(err)
	}
	return c, nil
}
