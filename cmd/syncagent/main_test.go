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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
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
// adds and removes syncs with the operator commands (which find etcd through
// $SYNCAGENT_ENDPOINTS), and watches the metrics, probes, logs and listings
// follow; SIGTERM (here: cancellation) stops it cleanly.
func TestRunAndOperate(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("SYNCAGENT_ENDPOINTS", strings.Join(c.Endpoints(), ","))
	syncagent := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb)
		return code, out.String(), errb.String()
	}

	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	logs := &bytes.Buffer{} // read only after run returned
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--id", "a1", "--lease-ttl", "1s", "--metrics-addr", addr, "--demo-every", "20ms",
			"--log-format", "json", "--log-level", "debug"}, io.Discard, logs)
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
	eventually(t, "the agent is ready, live and leads", func() bool {
		return probes(addr) == "livez 200, readyz 200, healthz 200" && metric("syncagent_is_leader") == "1"
	})
	_, body := get("http://" + addr + "/metrics")
	if !regexp.MustCompile(`(?m)^syncagent_build_info\{go_version="` + regexp.QuoteMeta(runtime.Version()) + `",revision="[^"]+",version="[^"]+"\} 1$`).MatchString(body) {
		t.Error("no syncagent_build_info metric with the Go version")
	}

	if code, out, _ := syncagent("syncs", "ls", "-o", "json"); code != 0 || out != "[]\n" {
		t.Fatalf("syncs ls -o json with no syncs: exit %d, %q; want []", code, out)
	}
	for _, s := range []string{"orders", "payments"} {
		code, out, stderr := syncagent("syncs", "add", s)
		if want := "created sync " + s + " at /syncagent/syncs/" + s + "\n"; code != 0 || out != want {
			t.Fatalf("syncs add %s: exit %d, said %q (want %q): %s", s, code, out, want, stderr)
		}
	}
	eventually(t, "the agent owns both syncs and commits", func() bool {
		return metric("syncagent_owned_syncs") == "2" && metric(`syncagent_checkpoint_commits_total{result="ok"}`) > "1"
	})
	code, out, _ := syncagent("syncs", "ls")
	if code != 0 || !strings.Contains(out, "orders") || strings.Count(out, "a1") != 4 {
		t.Fatalf("syncs ls: exit %d:\n%s", code, out)
	}
	var syncs []agent.SyncStatus
	code, out, _ = syncagent("syncs", "ls", "-o", "json")
	if err := json.Unmarshal([]byte(out), &syncs); code != 0 || err != nil || len(syncs) != 2 || syncs[0].Name != "orders" || syncs[0].ClaimedBy != "a1" || syncs[0].Token == 0 {
		t.Fatalf("syncs ls -o json: exit %d, %v:\n%s", code, err, out)
	}
	code, out, _ = syncagent("agents", "ls")
	if code != 0 || !regexp.MustCompile(`(?m)^AGENT +ROLE +ASSIGNED +CLAIMED\na1 +leader +2 +2$`).MatchString(out) {
		t.Fatalf("agents ls: exit %d:\n%s", code, out)
	}
	code, out, _ = syncagent("agents", "ls", "-o", "json")
	if want := `[{"id":"a1","leader":true,"assigned":2,"claimed":2}]`; code != 0 || compact(out) != want {
		t.Fatalf("agents ls -o json: exit %d, %s, want %s", code, out, want)
	}
	if code, out, _ := syncagent("syncs", "add", "orders", `{"v":2}`); code != 0 || !strings.HasPrefix(out, "replaced sync orders at /syncagent/syncs/orders;") {
		t.Fatalf("syncs add over an existing sync: exit %d, said %q", code, out)
	}
	if code, out, _ := syncagent("syncs", "rm", "orders"); code != 0 || out != "removed sync orders\n" {
		t.Fatalf("syncs rm: exit %d, said %q", code, out)
	}
	eventually(t, "the removed sync is released", func() bool { return metric("syncagent_owned_syncs") == "1" })

	stop()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(logs.String(), `"msg":"stopped gracefully"`) {
			t.Fatalf("exit %d after cancellation; log:\n%s", code, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the agent did not stop")
	}
	if !hasCommitLine(logs.String(), "payments") {
		t.Errorf("no debug line for a commit of payments in the JSON log:\n%.2000s", logs)
	}
}

// hasCommitLine reports whether a JSON log holds a debug line for a
// checkpoint commit of sync.
func hasCommitLine(log, sync string) bool {
	for _, line := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["level"] == "DEBUG" && rec["msg"] == "committed checkpoint" && rec["sync"] == sync {
			return true
		}
	}
	return false
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// probes is the status of each probe the agent serves at addr.
func probes(addr string) string {
	var got []string
	for _, p := range []string{"livez", "readyz", "healthz"} {
		code, _ := get("http://" + addr + "/" + p)
		got = append(got, fmt.Sprintf("%s %d", p, code))
	}
	return strings.Join(got, ", ")
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
		{[]string{"syncs"}, "usage: syncagent syncs <verb>"},
		{[]string{"agents"}, "usage: syncagent agents <verb>"},
		{[]string{"agents", "rm", "a1"}, `unknown verb "rm"; use ls`},
		{[]string{"agents", "ls", "extra"}, "usage: syncagent agents ls"},
		{[]string{"syncs", "ls", "-o", "yaml"}, `-o "yaml": use table or json`},
		{[]string{"syncs", "add", "x", "-o", "json"}, "flag provided but not defined: -o"},
		{[]string{"run", "--log-format", "xml"}, `--log-format "xml": use text or json`},
		{[]string{"run", "--log-level", "loud"}, `invalid value "loud" for flag -log-level`},
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
	case len(args) >= 2 && (args[0] == "syncs" || args[0] == "agents"):
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
	if code := run(context.Background(), slices.Concat([]string{"syncs", "add", "orders"}, conn), &out, &errb); code != 0 || out.String() != "created sync orders at /forge/syncs/orders\n" {
		t.Fatalf("syncs add orders: exit %d, said %q: %s", code, out.String(), errb.String())
	}
	out.Reset()
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
	out.Reset()
	var list []agent.SyncStatus
	code := run(context.Background(), slices.Concat([]string{"syncs", "ls", "-o", "json"}, conn), &out, &errb)
	if err := json.Unmarshal(out.Bytes(), &list); code != 0 || err != nil || len(list) != len(hostile)+1 {
		t.Fatalf("syncs ls -o json: exit %d, %v, %d syncs:\n%.500s", code, err, len(list), out.String())
	}
	for _, s := range list {
		if s.Name != "orders" && !slices.Contains(hostile, s.Name) {
			t.Errorf("syncs ls -o json: name %.100q was not stored", s.Name)
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

// TestHelpExitsZero: help asked for, of any command or verb, is printed to
// stdout with the flags, and is not an error.
func TestHelpExitsZero(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"usage: syncagent <command>", "agents ls", "$SYNCAGENT_ENDPOINTS"}},
		{[]string{"run", "--help"}, []string{"usage: syncagent run", "-metrics-addr", "-log-level", "/livez", "/healthz  the same as /readyz"}},
		{[]string{"run", "-h"}, []string{"usage: syncagent run", "-lease-ttl"}},
		{[]string{"syncs", "--help"}, []string{"usage: syncagent syncs <verb>", "add NAME [DEFINITION]", "rm NAME", "ls"}},
		{[]string{"syncs", "help"}, []string{"usage: syncagent syncs <verb>"}},
		{[]string{"syncs", "add", "--help"}, []string{"usage: syncagent syncs add NAME [DEFINITION] [flags]", "-endpoints"}},
		{[]string{"syncs", "rm", "-h"}, []string{"usage: syncagent syncs rm NAME [flags]"}},
		{[]string{"syncs", "ls", "-h"}, []string{"usage: syncagent syncs ls [flags]", "-o format"}},
		{[]string{"agents", "-h"}, []string{"usage: syncagent agents <verb>", "ls"}},
		{[]string{"agents", "ls", "--help"}, []string{"usage: syncagent agents ls [flags]", "-o format"}},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tt.args, &out, &errb)
		if code != 0 || errb.Len() > 0 {
			t.Errorf("syncagent %q: exit %d, stderr %q; want exit 0 and help on stdout", tt.args, code, errb.String())
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("syncagent %q: help does not mention %q:\n%s", tt.args, w, out.String())
			}
		}
	}
}

// TestEnvironment: $SYNCAGENT_ENDPOINTS is where commands look for etcd
// unless --endpoints is given, and help never prints $SYNCAGENT_PASSWORD.
func TestEnvironment(t *testing.T) {
	t.Setenv("SYNCAGENT_ENDPOINTS", "127.0.0.1:1")
	t.Setenv("SYNCAGENT_PASSWORD", "hunter2")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"syncs", "ls", "--dial-timeout", "200ms"}, "no answer from 127.0.0.1:1 within"},
		{[]string{"syncs", "ls", "--dial-timeout", "200ms", "--endpoints", "127.0.0.1:2"}, "no answer from 127.0.0.1:2 within"},
		{[]string{"agents", "ls", "--dial-timeout", "200ms"}, "no answer from 127.0.0.1:1 within"},
	}
	for _, tt := range tests {
		var errb bytes.Buffer
		if code := run(context.Background(), tt.args, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("syncagent %q: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errb.String(), tt.want)
		}
	}
	t.Setenv("SYNCAGENT_ENDPOINTS", "127.0.0.1:1,")
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"syncs", "ls"}, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), `$SYNCAGENT_ENDPOINTS "127.0.0.1:1," has an empty endpoint`) {
		t.Errorf("a bad $SYNCAGENT_ENDPOINTS: exit %d, stderr %q; want exit 2 naming the variable", code, errb.String())
	}
	for _, args := range [][]string{{"run", "-h"}, {"syncs", "ls", "-h"}} {
		var out bytes.Buffer
		run(context.Background(), args, &out, io.Discard)
		if strings.Contains(out.String(), "hunter2") {
			t.Errorf("syncagent %q prints the password:\n%s", args, out.String())
		}
	}
}

// TestMetricsAddressInUse: a taken metrics port is exit 2 with a sentence
// naming the flag that changes it.
func TestMetricsAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var errb bytes.Buffer
	code := run(context.Background(), []string{"run", "--endpoints", "127.0.0.1:1", "--metrics-addr", ln.Addr().String()}, io.Discard, &errb)
	want := "cannot serve metrics at " + ln.Addr().String() + ": the address is already in use, perhaps by another syncagent; choose another address with --metrics-addr"
	if code != 2 || !strings.Contains(errb.String(), want) {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", code, errb.String(), want)
	}
}

// TestProbesThroughAnOutage cuts the agent off from etcd: /readyz (and
// /healthz, its alias) fail once the lease is no longer trusted, while
// /livez stays 200 throughout, for longer than its period; after the outage
// the agent is ready again.
func TestProbesThroughAnOutage(t *testing.T) {
	c, err := sim.StartCluster(1)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	etcd := c.Endpoints()[0][strings.Index(c.Endpoints()[0], "://")+3:]
	link := newSeverable(t, etcd)
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"run", "--id", "a1", "--lease-ttl", "1s", "--dial-timeout", "300ms", "--metrics-addr", addr,
			"--endpoints", link.addr()}, io.Discard, io.Discard)
	}()
	defer func() {
		stop()
		<-done
	}()
	eventually(t, "the agent is ready", func() bool { return probes(addr) == "livez 200, readyz 200, healthz 200" })

	link.sever(true)
	eventually(t, "the agent is not ready", func() bool { return probes(addr) == "livez 200, readyz 503, healthz 503" })
	// The live period is 2 × max(2 × 1s, 1s + 3 × 300ms) = 4s: outlast it.
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got := probes(addr); got != "livez 200, readyz 503, healthz 503" {
			t.Fatalf("during the outage: %s", got)
		}
	}
	link.sever(false)
	eventually(t, "the agent is ready again", func() bool { return probes(addr) == "livez 200, readyz 200, healthz 200" })
}

// severable forwards TCP connections to an address until severed: then it
// closes every connection and refuses new ones, as a network outage would.
type severable struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	severed bool
	conns   []net.Conn
}

func newSeverable(t *testing.T, target string) *severable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &severable{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		s.sever(true)
	})
	go s.accept()
	return s
}

func (s *severable) addr() string { return s.ln.Addr().String() }

func (s *severable) accept() {
	for {
		in, err := s.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", s.target)
		s.mu.Lock()
		if err != nil || s.severed {
			in.Close()
			if out != nil {
				out.Close()
			}
			s.mu.Unlock()
			continue
		}
		s.conns = append(s.conns, in, out)
		s.mu.Unlock()
		go io.Copy(in, out)
		go io.Copy(out, in)
	}
}

func (s *severable) sever(severed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.severed = severed
	if severed {
		for _, c := range s.conns {
			c.Close()
		}
		s.conns = nil
	}
}
