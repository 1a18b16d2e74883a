package agent

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/syncsim/syncsim/internal/readfile"
)

// ClientConfig says how to reach etcd: endpoints, optional TLS files and
// optional user name and password.
type ClientConfig struct {
	Endpoints []string
	// CACert verifies the servers; Cert and Key identify this client. Any
	// of them makes TLS mandatory: an http:// endpoint is then an error.
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
	// ErrTLSHandshake reports that an endpoint accepted a connection but
	// not the TLS handshake: a wrong CA or client certificate, or a server
	// that does not speak TLS.
	ErrTLSHandshake = errors.New("TLS handshake with etcd failed")
)

// maxPEMFile bounds a certificate or key file; real ones are a few KB.
const maxPEMFile = 1 << 20

// NewClient connects to etcd. With a user name it authenticates at once,
// so wrong credentials are an error here (wrapping ErrCredentials) rather
// than on the first request.
func NewClient(cfg ClientConfig) (*clientv3.Client, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	dial := cmp.Or(cfg.DialTimeout, 5*time.Second)
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		TLS:         tlsConfig,
		Username:    cfg.Username,
		Password:    cfg.Password,
		DialTimeout: dial,
		Logger:      zap.NewNop(),
	})
	where := strings.Join(cfg.Endpoints, ",")
	unreachable := func(err error) error {
		if tlsConfig != nil {
			if herr := handshakeError(cfg.Endpoints, tlsConfig, dial); herr != nil {
				return herr
			}
		}
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

// Check reports what no connection could use: no endpoints, TLS asked for
// with a plaintext endpoint, TLS files that do not hold what they are named
// for. NewClient checks the same; a command checks first, before it starts
// anything else.
func (cfg ClientConfig) Check() error {
	if len(cfg.Endpoints) == 0 {
		return errors.New("no etcd endpoints given")
	}
	_, err := cfg.tlsConfig()
	return err
}

// tlsConfig is nil when no TLS file was given. Otherwise every endpoint must
// use TLS (etcd's client silently drops TLS for http:// endpoints), and
// every file must hold what it is named for.
func (cfg ClientConfig) tlsConfig() (*tls.Config, error) {
	if cfg.CACert == "" && cfg.Cert == "" && cfg.Key == "" {
		return nil, nil
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return nil, errors.New("a client certificate needs both a certificate file and a key file")
	}
	if ep := plaintextEndpoint(cfg.Endpoints); ep != "" {
		return nil, fmt.Errorf("endpoint %q is plaintext http://, but TLS was asked for (%s): write https:// or leave the scheme out", ep, cfg.tlsFiles())
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACert != "" {
		var err error
		if conf.RootCAs, err = readCAs(cfg.CACert); err != nil {
			return nil, err
		}
	}
	if cfg.Cert != "" {
		pair, err := readKeyPair(cfg.Cert, cfg.Key)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	return conf, nil
}

// plaintextEndpoint is the first http:// endpoint, "" if none.
func plaintextEndpoint(endpoints []string) string {
	for _, ep := range endpoints {
		if u, err := url.Parse(ep); err == nil && u.Scheme == "http" {
			return ep
		}
	}
	return ""
}

// tlsFiles names the TLS files given, for errors.
func (cfg ClientConfig) tlsFiles() string {
	var files []string
	for _, f := range []struct{ what, path string }{{"CA certificate", cfg.CACert}, {"client certificate", cfg.Cert}, {"client key", cfg.Key}} {
		if f.path != "" {
			files = append(files, f.what+" "+f.path)
		}
	}
	return strings.Join(files, ", ")
}

func readCAs(path string) (*x509.CertPool, error) {
	pem, err := readPEMFile("CA certificate", path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("TLS: CA certificate file %s holds no PEM certificate", path)
	}
	return pool, nil
}

func readKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	cert, err := readPEMFile("client certificate", certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := readPEMFile("client key", keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("TLS: client certificate %s with key %s: %w", certFile, keyFile, err)
	}
	return pair, nil
}

// readPEMFile reads a regular file of at most maxPEMFile bytes, so a FIFO or
// a device given by mistake is an error, not a hang.
func readPEMFile(what, path string) ([]byte, error) {
	data, err := readfile.Regular(path, maxPEMFile)
	if err != nil {
		return nil, fmt.Errorf("TLS: %s file: %w", what, err)
	}
	return data, nil
}

// handshakeError tells a TLS failure from an etcd that is not there: it is
// an error wrapping ErrTLSHandshake when an endpoint accepts a connection
// but refuses the handshake, nil otherwise.
func handshakeError(endpoints []string, conf *tls.Config, timeout time.Duration) error {
	for _, ep := range endpoints {
		addr := ep
		if u, err := url.Parse(ep); err == nil && u.Host != "" {
			addr = u.Host
		}
		if err := handshake(addr, conf, timeout); err != nil {
			return fmt.Errorf("%w at %s (check the CA certificate, the client certificate and key, and that etcd serves TLS): %v", ErrTLSHandshake, ep, err)
		}
	}
	return nil
}

// handshake returns the TLS error of a connection to addr; nil when nothing
// listens there or the handshake succeeds.
func handshake(addr string, conf *tls.Config, timeout time.Duration) error {
	raw, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(timeout))
	conf = conf.Clone()
	if host, _, err := net.SplitHostPort(addr); err == nil && conf.ServerName == "" {
		conf.ServerName = host
	}
	conn := tls.Client(raw, conf)
	if err := conn.Handshake(); err != nil {
		return err
	}
	// With TLS 1.3 the server judges the client's certificate after the
	// client finished; a refusal arrives as an alert on the first read.
	conn.SetReadDeadline(time.Now().Add(min(timeout, time.Second)))
	var op *net.OpError
	if _, err := conn.Read(make([]byte, 1)); errors.As(err, &op) && op.Op == "remote error" {
		return err
	}
	return nil
}
