package sim

import (
	"fmt"
	"net/url"
	"path/filepath"

	"go.etcd.io/etcd/pkg/v3/proxy"
	"go.uber.org/zap"
)

// link is one agent's network: a proxy to each member, so the agent can be
// cut off (or slowed) alone while the members still see each other.
type link struct {
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
		p := proxy.NewServer(proxy.ServerConfig{
			Logger: zap.NewNop(),
			From:   url.URL{Scheme: "unix", Host: sock},
			To:     url.URL{Scheme: "tcp", Host: to.Host},
		})
		select {
		case <-p.Ready():
		case err := <-p.Error():
			l.close()
			return nil, fmt.Errorf("proxy to %s: %w", m, err)
		}
		go drain(p)
		l.proxies = append(l.proxies, p)
		l.endpoints = append(l.endpoints, "unix://"+sock)
	}
	return l, nil
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

// isolate drops everything between the agent and every member, both ways.
func (l *link) isolate() {
	for _, p := range l.proxies {
		p.BlackholeTx()
		p.BlackholeRx()
	}
}

func (l *link) heal() {
	for _, p := range l.proxies {
		p.UnblackholeTx()
		p.UnblackholeRx()
	}
}

// close cuts every connection and stops listening.
func (l *link) close() {
	for _, p := range l.proxies {
		p.Close()
	}
}
