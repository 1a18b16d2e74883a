package agent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/tests/v3/framework/integration"

	"github.com/syncsim/syncsim/agent"
)

// TestTLSAndAuth runs agents over client TLS as an etcd user that may only
// touch the agents' prefix, and checks that wrong credentials are refused
// with a clear error.
func TestTLSAndAuth(t *testing.T) {
	pki := newPKI(t)
	integration.BeforeTestExternal(t)
	clus := integration.NewCluster(t, &integration.ClusterConfig{
		Size: 1, UseTCP: true,
		ClientTLS: &transport.TLSInfo{CertFile: pki.serverCert, KeyFile: pki.serverKey, TrustedCAFile: pki.ca, ClientCertAuth: true},
	})
	t.Cleanup(func() { clus.Terminate(t) })
	endpoints := clus.Endpoints()
	ctx := context.Background()

	root, err := agent.NewClient(agent.ClientConfig{Endpoints: endpoints, CACert: pki.ca, Cert: pki.clientCert, Key: pki.clientKey})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.UserAdd(ctx, "root", "rootpw"))
	must(root.UserGrantRole(ctx, "root", "root"))
	must(root.RoleAdd(ctx, "syncagent"))
	must(root.RoleGrantPermission(ctx, "syncagent", "/t/", clientv3.GetPrefixRangeEnd("/t/"), clientv3.PermissionType(clientv3.PermReadWrite)))
	must(root.UserAdd(ctx, "agent", "s3cret"))
	must(root.UserGrantRole(ctx, "agent", "syncagent"))
	must(root.AuthEnable(ctx))

	as := func(user, password string) (*clientv3.Client, error) {
		return agent.NewClient(agent.ClientConfig{Endpoints: endpoints, CACert: pki.ca, Cert: pki.clientCert, Key: pki.clientKey, Username: user, Password: password})
	}
	if _, err := as("agent", "wrong"); !errors.Is(err, agent.ErrCredentials) || !strings.Contains(err.Error(), `user "agent"`) {
		t.Fatalf("wrong password: got %v, want an error naming the user and wrapping ErrCredentials", err)
	}
	client, err := as("agent", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := client.Put(ctx, "/elsewhere", "x"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("the agent user wrote outside its prefix: %v", err)
	}
	for _, s := range []string{"s1", "s2", "s3", "s4"} {
		if err := agent.AddSync(ctx, client, "/t/", s, "{}"); err != nil {
			t.Fatal(err)
		}
	}

	f := newFleet()
	a1, a2 := start(client, "a1", f.syncer("a1")), start(client, "a2", f.syncer("a2"))
	eventually(t, "both agents work on two syncs each over TLS with auth", func() bool {
		l := f.loads()
		return l["a1"] == 2 && l["a2"] == 2
	})
	eventually(t, "checkpoints are committed", func() bool {
		list, err := agent.ListSyncs(ctx, client, "/t/")
		if err != nil || len(list) != 4 {
			return false
		}
		for _, s := range list {
			if s.ClaimedBy == "" || s.Checkpoint == "" || s.AssignedTo != s.ClaimedBy {
				return false
			}
		}
		return true
	})
	for _, r := range []running{a1, a2} {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Errorf("graceful stop: %v", err)
		}
	}
	f.check(t)
}

// tlsCluster starts a one-member cluster that serves client TLS and requires
// a client certificate signed by pki's CA.
func tlsCluster(t *testing.T, pki pki) []string {
	integration.BeforeTestExternal(t)
	clus := integration.NewCluster(t, &integration.ClusterConfig{
		Size: 1, UseTCP: true,
		ClientTLS: &transport.TLSInfo{CertFile: pki.serverCert, KeyFile: pki.serverKey, TrustedCAFile: pki.ca, ClientCertAuth: true},
	})
	t.Cleanup(func() { clus.Terminate(t) })
	return clus.Endpoints()
}

// TestTLSMisconfiguration checks that asking for TLS never ends in
// plaintext, that files without what they are named for are refused, and
// that a failed handshake is reported as one, not as an unreachable etcd.
func TestTLSMisconfiguration(t *testing.T) {
	pki, stranger := newPKI(t), newPKI(t)
	endpoints := tlsCluster(t, pki)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("no PEM here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := "http://" + strings.TrimPrefix(endpoints[0], "https://")
	tests := []struct {
		name string
		cfg  agent.ClientConfig
		is   error
		want []string
	}{
		{"http endpoint with a CA", agent.ClientConfig{Endpoints: []string{plain}, CACert: pki.ca}, nil, []string{plain, pki.ca, "https://"}},
		{"http endpoint with a client certificate", agent.ClientConfig{Endpoints: []string{plain}, Cert: pki.clientCert, Key: pki.clientKey}, nil, []string{plain, pki.clientCert}},
		{"CA file without a certificate", agent.ClientConfig{Endpoints: endpoints, CACert: empty}, nil, []string{empty, "no PEM certificate"}},
		{"CA file that is a directory", agent.ClientConfig{Endpoints: endpoints, CACert: t.TempDir()}, nil, []string{"not a regular file"}},
		{"key without a certificate", agent.ClientConfig{Endpoints: endpoints, Key: pki.clientKey}, nil, []string{"needs both"}},
		{"certificate and key swapped", agent.ClientConfig{Endpoints: endpoints, CACert: pki.ca, Cert: pki.clientKey, Key: pki.clientCert}, nil, []string{pki.clientKey}},
		{"unknown CA", agent.ClientConfig{Endpoints: endpoints, CACert: stranger.ca, Cert: pki.clientCert, Key: pki.clientKey}, agent.ErrTLSHandshake, []string{"unknown authority"}},
		{"no client certificate", agent.ClientConfig{Endpoints: endpoints, CACert: pki.ca}, agent.ErrTLSHandshake, []string{"certificate required"}},
		{"client certificate from another CA", agent.ClientConfig{Endpoints: endpoints, CACert: pki.ca, Cert: stranger.clientCert, Key: stranger.clientKey}, agent.ErrTLSHandshake, []string{"tls:"}},
		{"TLS where nothing listens", agent.ClientConfig{Endpoints: []string{"127.0.0.1:1"}, CACert: pki.ca}, agent.ErrUnreachable, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.DialTimeout = time.Second
			c, err := agent.NewClient(tt.cfg)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want an error wrapping %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestTLSNeverFallsBackToPlaintext points TLS settings at a plaintext etcd:
// an http:// endpoint is refused before connecting, and any other is a
// failed handshake.
func TestTLSNeverFallsBackToPlaintext(t *testing.T) {
	pki := newPKI(t)
	integration.BeforeTestExternal(t)
	clus := integration.NewCluster(t, &integration.ClusterConfig{Size: 1, UseTCP: true})
	t.Cleanup(func() { clus.Terminate(t) })
	endpoint := clus.Endpoints()[0]
	host := endpoint[strings.Index(endpoint, "://")+3:]
	for _, ep := range []string{"http://" + host, host} {
		c, err := agent.NewClient(agent.ClientConfig{Endpoints: []string{ep}, CACert: pki.ca, DialTimeout: time.Second})
		if err == nil {
			c.Close()
			t.Fatalf("%s with a CA certificate: connected to a plaintext etcd", ep)
		}
		if want := strings.HasPrefix(ep, "http://"); want != strings.Contains(err.Error(), "plaintext http://") || !want && !errors.Is(err, agent.ErrTLSHandshake) {
			t.Errorf("%s with a CA certificate: %v", ep, err)
		}
	}
}

type pki struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// newPKI writes a CA and a server and a client certificate, valid for an hour.
func newPKI(t *testing.T) pki {
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syncsim test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	issue := func(serial int64, cn string) (cert, key string) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(k)
		return write(cn+".crt", "CERTIFICATE", der), write(cn+".key", "EC PRIVATE KEY", kder)
	}
	p := pki{ca: write("ca.crt", "CERTIFICATE", caDER)}
	p.serverCert, p.serverKey = issue(2, "server")
	p.clientCert, p.clientKey = issue(3, "client")
	return p
}

// TestTLSFileThatIsAFIFO: a FIFO named as a TLS file is refused at once; an
// open of it would wait for a writer for ever.
func TestTLSFileThatIsAFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "ca.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- agent.ClientConfig{Endpoints: []string{"https://127.0.0.1:1"}, CACert: fifo}.Check() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "named pipe") {
			t.Errorf("got %v, want a FIFO refused by name", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Check hung reading a FIFO")
	}
}
