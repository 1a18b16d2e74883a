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

// ErrCredentials reports that etcd refused the user name and password.
var ErrCredentials = errors.New("etcd refused the credentials")

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
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrAuthNotEnabled):
		return nil, fmt.Errorf("%w: user %q at %s: %v", ErrCredentials, cfg.Username, strings.Join(cfg.Endpoints, ","), err)
	case errors.Is(err, context.DeadlineExceeded):
		return nil, fmt.Errorf("cannot reach etcd at %s within %v (is it running, and are the TLS settings right?): %w", strings.Join(cfg.Endpoints, ","), cmp.Or(cfg.DialTimeout, 5*time.Second), err)
	}
	return nil, fmt.Errorf("connect to etcd at %s: %w", strings.Join(cfg.Endpoints, ","), err)
}
