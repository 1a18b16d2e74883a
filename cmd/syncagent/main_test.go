package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncsim/syncsim/agent"
	"github.com/syncsim/syncsim/sim"
)

func TestMain(m *testing.M) {
	os.Exit(sim.RunTests(m, true))
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestRunAndOperate runs the agent command against an in-process cluster,
// adds and removes syncs with the operator commands, and watches the
// metrics and health follow; SIGTERM (here: cancellation) stops it cleanly.
func TestRunAndOperate(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	conn := []string{"--endpoints", strings.Join(c.Endpoints(), ",")}
	syncagent := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append(args, conn...), &out, &errb)
		return code, out.String(), errb.String()
	}

	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	logs := &bytes.Buffer{} // read only after run returned
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"run", "--id", "a1", "--lease-ttl", "1s", "--metrics-addr", addr, "--demo-every", "20ms"}, conn...), io.Discard, logs)
	}()
	metric := func(name string) string {
		_, body := get("http://" + addr + "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				return v
			}
		}
		return ""
	}
	eventually(t, "the agent is healthy and leads", func() bool {
		code, _ := get("http://" + addr + "/healthz")
		return code == http.StatusOK && metric("syncagent_is_leader") == "1"
	})

	for _, s := range []string{"orders", "payments"} {
		if code, _, stderr := syncagent("syncs", "add", s); code != 0 {
			t.Fatalf("syncs add %s: exit %d: %s", s, code, stderr)
		}
	}
	eventually(t, "the agent owns both syncs and commits", func() bool {
		return metric("syncagent_owned_syncs") == "2" && metric(`syncagent_checkpoint_commits_total{result="ok"}`) > "1"
	})
	code, out, _ := syncagent("syncs", "ls")
	if code != 0 || !strings.Contains(out, "orders") || strings.Count(out, "a1") != 4 {
		t.Fatalf("syncs ls: exit %d:\n%s", code, out)
	}
	if code, _, _ := syncagent("syncs", "rm", "orders"); code != 0 {
		t.Fatalf("syncs rm: exit %d", code)
	}
	eventually(t, "the removed sync is released", func() bool { return metric("syncagent_owned_syncs") == "1" })

	stop()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(logs.String(), "stopped gracefully") {
			t.Fatalf("exit %d after cancellation; log:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop")
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: syncagent"},
		{[]string{"dance"}, `unknown command "dance"`},
		{[]string{"run", "--lease-ttl", "1500ms"}, "--lease-ttl 1.5s must be whole seconds"},
		{[]string{"run", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"syncs", "frob"}, `unknown verb "frob"`},
		{[]string{"syncs", "add", "x", "not json"}, "a sync definition must be a JSON object"},
		{[]string{"syncs", "rm"}, "usage: syncagent syncs"},
		{[]string{"syncs", "ls", "--endpoints", "127.0.0.1:1", "--dial-timeout", "200ms"}, "etcd unreachable: no answer from 127.0.0.1:1 within 200ms"},
		{[]string{"syncs", "ls", "--cert", "c.pem"}, "needs both a certificate file and a key file"},
		{[]string{"run", "--id", "a/b"}, `agent id "a/b"`},
		{[]string{"run", "--id", "nl\nagent"}, `agent id "nl\nagent"`},
		{[]string{"run", "--id", ""}, `agent id ""`},
		{[]string{"run", "--lease-ttl", "3s", "--safety-margin", "5s"}, "SafetyMargin 5s must be below two thirds of LeaseTTL 3s"},
		{[]string{"run", "--safety-margin", "-1s"}, "--safety-margin -1s must not be negative"},
		{[]string{"run", "--demo-every", "0s"}, "--demo-every 0s must be positive"},
		{[]string{"run", "--dial-timeout", "-1s"}, "--dial-timeout -1s and --request-timeout 5s must be positive"},
		{[]string{"run", "--endpoints", "127.0.0.1:1,"}, "has an empty endpoint"},
		{[]string{"syncs", "add", "nl\nsync"}, `sync name "nl\nsync"`},
		{[]string{"syncs", "add", "esc\x1b[2J"}, `sync name "esc\x1b[2J"`},
		{[]string{"syncs", "add", strings.Repeat("x", 10000)}, "(10000 bytes) is not allowed"},
		{[]string{"syncs", "ls", "--request-timeout", "0s"}, "--request-timeout 0s must be positive"},
	}
	for _, tt := range tests {
		var errb bytes.Buffer
		// Flags are checked before anything connects; were one not, the
		// run would reach no etcd and end with the deadline, not the message.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		code := run(ctx, hermetic(tt.args), io.Discard, &errb)
		cancel()
		if code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("syncagent %.80q: exit %d, stderr %.300q; want exit 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
}

// hermetic adds flags that keep a command off the default etcd and metrics
// address, before the test's own flags so that those win.
func hermetic(args []string) []string {
	var extra []string
	var n int // where the flags may start
	switch {
	case len(args) >= 1 && args[0] == "run":
		extra, n = []string{"--metrics-addr=", "--endpoints=127.0.0.1:1"}, 1
	case len(args) >= 2 && args[0] == "syncs":
		extra, n = []string{"--endpoints=127.0.0.1:1"}, 2
	default:
		return args
	}
	return append(append(append([]string{}, args[:n]...), extra...), args[n:]...)
}

// TestTLSFlagsAreNeverIgnored gives TLS flags that cannot work: each is an
// exit 2 naming the problem, and never a plaintext connection. The cluster
// speaks plaintext, so a handshake with it fails.
func TestTLSFlagsAreNeverIgnored(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host := c.Endpoints()[0][strings.Index(c.Endpoints()[0], "://")+3:]
	ca, empty := selfSignedCA(t), filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"syncs", "ls", "--cacert", ca, "--endpoints", "http://" + host}, []string{`"http://` + host + `" is plaintext`, ca}},
		{[]string{"run", "--cacert", ca, "--endpoints", "http://" + host}, []string{`"http://` + host + `" is plaintext`, ca}},
		{[]string{"syncs", "ls", "--cacert", empty, "--endpoints", host}, []string{empty, "holds no PEM certificate"}},
		{[]string{"run", "--cacert", empty, "--endpoints", host}, []string{empty, "holds no PEM certificate"}},
		{[]string{"syncs", "ls", "--cacert", ca, "--endpoints", host}, []string{"TLS handshake with etcd failed at " + host}},
		{[]string{"run", "--cacert", ca, "--endpoints", host}, []string{"TLS handshake with etcd failed at " + host, "gave up after 3 tries"}},
	}
	for _, tt := range tests {
		var errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		args := slices.Concat(tt.args, []string{"--dial-timeout=300ms"})
		if tt.args[0] == "run" {
			args = append(args, "--metrics-addr=")
		}
		code := run(ctx, args, io.Discard, &errb)
		cancel()
		if code != 2 {
			t.Errorf("syncagent %q: exit %d, want 2; stderr:\n%s", tt.args, code, errb.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("syncagent %q: stderr does not mention %q:\n%s", tt.args, w, errb.String())
			}
		}
	}
}

// selfSignedCA writes a CA certificate, good for an hour, and returns its path.
func selfSignedCA(t *testing.T) string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "syncagent test CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSyncsLsCannotBeForged writes syncs under names no client may use any
// more, as an old or foreign client could, and checks that `syncs ls` shows
// one bounded, printable row for each; `syncs add` writes its default
// definition as JSON.
func TestSyncsLsCannotBeForged(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client, err := agent.NewClient(agent.ClientConfig{Endpoints: c.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	hostile := []string{"nl\nsync\t-\t-\t0\t-", "tab\tsync", "esc\x1b[2J", `"quoted"`, "naïve", strings.Repeat("w", 10000)}
	for _, name := range hostile {
		if _, err := client.Put(context.Background(), "/forge/syncs/"+name, "{}"); err != nil {
			t.Fatal(err)
		}
	}
	conn := []string{"--endpoints", strings.Join(c.Endpoints(), ","), "--prefix", "/forge/"}
	var out, errb bytes.Buffer
	if code := run(context.Background(), slices.Concat([]string{"syncs", "add", "orders"}, conn), &out, &errb); code != 0 {
		t.Fatalf("syncs add orders: exit %d: %s", code, errb.String())
	}
	if resp, err := client.Get(context.Background(), "/forge/syncs/orders"); err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `{"name":"orders"}` {
		t.Errorf("default definition: %v %v", resp, err)
	}
	if code := run(context.Background(), slices.Concat([]string{"syncs", "ls"}, conn), &out, &errb); code != 0 {
		t.Fatalf("syncs ls: exit %d: %s", code, errb.String())
	}
	rows := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(rows) != 1+len(hostile)+1 {
		t.Errorf("%d syncs listed in %d rows, want %d:\n%s", len(hostile)+1, len(rows)-1, len(hostile)+1, out.String())
	}
	for _, row := range rows {
		if len(row) > 300 || strings.IndexFunc(row, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			t.Errorf("row is not short, printable ASCII: %.100q", row)
		}
	}
	for _, shown := range []string{`"nl\nsync\t-\t-\t0\t-"`, `"esc\x1b[2J"`, `"\"quoted\""`, `"na\u00efve"`, "...(10000 bytes)"} {
		if !strings.Contains(out.String(), shown) {
			t.Errorf("syncs ls does not show %s:\n%s", shown, out.String())
		}
	}
}

// TestDefaultDefinitionIsJSON: the default definition stays a JSON object
// whatever the name holds (Go's %q writes \x1b, which JSON does not know).
func TestDefaultDefinitionIsJSON(t *testing.T) {
	for _, name := range []string{"orders", "esc\x1b", "nl\n", `q"uote`, "naïve"} {
		var got map[string]string
		if err := json.Unmarshal([]byte(defaultDefinition(name)), &got); err != nil || got["name"] != name {
			t.Errorf("defaultDefinition(%q) = %s: %v", name, defaultDefinition(name), err)
		}
	}
}

// TestBadTLSFileRefusedBeforeServing: a TLS file that holds no certificate
// is refused before run starts anything, its metrics server included.
func TestBadTLSFileRefusedBeforeServing(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--cacert", empty, "--endpoints", "https://127.0.0.1:1", "--metrics-addr", freeAddr(t)}, io.Discard, &errb)
	if code != 2 || strings.Contains(errb.String(), "serving metrics") {
		t.Fatalf("exit %d, want 2 before serving anything; stderr:\n%s", code, errb.String())
	}
}
