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
