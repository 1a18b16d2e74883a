package sim

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"
)

// link is one agent's network: a proxy to each member, so the agent can be
// cut off (or slowed) alone while the members still see each other.
type link struct {
	mu        sync.Mutex // the proxies change on reset
	closed    bool       // the process is gone; nothing restarts its network
	configs   []proxy.ServerConfig
	proxies   []proxy.Server
	endpoints []string
}

// newLink starts a proxy per member URL, listening on unix sockets in dir.
func newLink(dir, name string, members []string) (*link, error) {
	l := &link{}
	for i, m := range members {
		to, err := url.Parse(m)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("member URL %q: %w", m, err)
		}
		sock := filepath.Join(dir, fmt.Sprintf("%s-m%d.sock", name, i))
		cfg := proxy.ServerConfig{
			Logger: zap.NewNop(),
			From:   url.URL{Scheme: "unix", Host: sock},
			To:     url.URL{Scheme: "tcp", Host: to.Host},
		}
		p, err := startProxy(cfg)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("proxy to %s: %w", m, err)
		}
		l.configs = append(l.configs, cfg)
		l.proxies = append(l.proxies, p)
		l.endpoints = append(l.endpoints, "unix://"+sock)
	}
	return l, nil
}

func startProxy(cfg proxy.ServerConfig) (proxy.Server, error) {
	p := proxy.NewServer(cfg)
	select {
	case <-p.Ready():
	case err := <-p.Error():
		return nil, err
	}
	go drain(p)
	return p, nil
}

// drain discards the proxy's transmission errors, which are expected under
// faults; the proxy blocks once its error buffer is full.
func drain(p proxy.Server) {
	for {
		select {
		case <-p.Error():
		case <-p.Done():
			return
		}
	}
}

// each applies f to every proxy, in member order.
func (l *link) each(f func(member int, p proxy.Server)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, p := range l.proxies {
		f(i, p)
	}
}

// isolate drops everything between the agent and the given members (all
// when none are given), both ways.
func (l *link) isolate(members []int) {
	l.each(func(i int, p proxy.Server) {
		if len(members) == 0 || slices.Contains(members, i) {
			p.BlackholeTx()
			p.BlackholeRx()
		}
	})
}

// reconnect ends an isolation. Blackholing dropped bytes in the middle of
// the agent's HTTP/2 streams, which no real network does (TCP delivers in
// order or breaks the connection), and a desynchronised connection can
// refuse every request with PROTOCOL_ERROR for good; so the connections
// are dropped too, as TCP would have after a long cut, and the agent
// reconnects.
func (l *link) reconnect() error {
	l.each(func(_ int, p proxy.Server) { p.UnblackholeTx(); p.UnblackholeRx() })
	return l.reset()
}

// delay slows both directions by latency ± jitter.
func (l *link) delay(latency, jitter time.Duration) {
	l.each(func(_ int, p proxy.Server) { p.DelayTx(latency, jitter); p.DelayRx(latency, jitter) })
}

func (l *link) undelay() {
	l.each(func(_ int, p proxy.Server) { p.UndelayTx(); p.UndelayRx() })
}

// pause holds all traffic, both ways, until unpause.
func (l *link) pause() {
	l.each(func(_ int, p proxy.Server) { p.PauseTx(); p.PauseRx() })
}

func (l *link) unpause() {
	l.each(func(_ int, p proxy.Server) { p.UnpauseTx(); p.UnpauseRx() })
}

// reset drops every connection: each proxy is closed and a new one starts
// at the same address, so the agent reconnects. The old proxy closes its
// connections as soon as they carry anything (it cannot interrupt an idle
// one), which is what a dropped connection looks like to its user.
func (l *link) reset() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	for i, p := range l.proxies {
		go p.Close()
		var np proxy.Server
		var err error
		for try := 0; try < 100; try++ { // until the old listener is gone
			if np, err = startProxy(l.configs[i]); err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		l.proxies[i] = np
	}
	return nil
}

// close stops listening and lets every connection end. It does not wait:
// a proxy's Close blocks until each connection carried data or its other
// end closed, which the agent's client or the members do in their time.
func (l *link) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, p := range l.proxies {
		go p.Close()
	}
}
